"""Load tempest plugins the way tempest does, and say what goes wrong.

Run by ``tempest-env plugins NAME --check`` with the environment's python
(``-I -B``: PYTHON* variables and the user site ignored, the environment's
site-packages and ``.pth`` files processed as usual).  Standard library
only, Python 3.8+.

stdin: ``{"mode": "alone" | "together", "plugins": [{"name", "module",
"attr", "dist"}, ...]}``.  stdout: one JSON object.  Whatever the plugins
print goes to stderr, so it cannot corrupt the answer.

For each plugin, in order: import the target, instantiate it, call
``load_tests``, ``register_opts`` on a fresh configuration (oslo.config when
importable, else the offline stand-in's ``tempest.config``) that already
holds tempest's own options, ``get_opt_lists`` and ``get_service_clients``.
In ``together`` mode every plugin shares one configuration and one service
client registry, and test discovery is run for each plugin at the end.
"""

import importlib
import json
import os
import sys
import traceback
import unittest

TEMPEST = "tempest"


def describe(exc):
    """An exception as data: class, message, missing module, last frames."""
    out = {
        "exception": type(exc).__name__,
        "message": str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    }
    if isinstance(exc, ImportError) and getattr(exc, "name", None):
        if isinstance(exc, ModuleNotFoundError):
            out["missing_module"] = exc.name
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<")
              and os.path.basename(os.path.dirname(f.filename)) != "importlib"]
    lines = traceback.format_list(frames[-3:])
    lines += traceback.format_exception_only(type(exc), exc)
    out["traceback"] = "".join(lines).rstrip()
    return out


def is_duplicate_opt_error(exc):
    return any(cls.__name__ == "DuplicateOptError" for cls in type(exc).__mro__)


def group_name(group):
    if group is None:
        return "DEFAULT"
    return getattr(group, "name", None) or str(group)


class RecordingConf(object):
    """A configuration object that remembers who registered each option.

    Everything else is passed through to the real ``ConfigOpts``.
    """

    def __init__(self, conf, owners):
        object.__setattr__(self, "_conf", conf)
        object.__setattr__(self, "_owners", owners)
        object.__setattr__(self, "owner", TEMPEST)
        object.__setattr__(self, "conflicts", [])

    def __getattr__(self, name):
        return getattr(self._conf, name)

    def __setattr__(self, name, value):
        if name == "owner":
            object.__setattr__(self, name, value)
        else:
            setattr(self._conf, name, value)

    def register_group(self, group, *args, **kwargs):
        return self._conf.register_group(group, *args, **kwargs)

    def register_opt(self, opt, group=None, *args, **kwargs):
        key = (group_name(group), getattr(opt, "name", str(opt)))
        try:
            result = self._conf.register_opt(opt, group, *args, **kwargs)
        except Exception as exc:
            if is_duplicate_opt_error(exc):
                self.conflicts.append({
                    "kind": "config-conflict",
                    "group": key[0],
                    "option": key[1],
                    "first": self._owners.get(key),
                    "exception": type(exc).__name__,
                    "message": str(exc),
                })
            raise
        self._owners.setdefault(key, self.owner)
        return result

    def register_opts(self, opts, group=None, *args, **kwargs):
        # As oslo.config does: one register_opt per option, so every one is
        # recorded and the first conflict stops the rest.
        for opt in opts:
            self.register_opt(opt, group, *args, **kwargs)

    def register_cli_opt(self, opt, group=None, *args, **kwargs):
        return self.register_opt(opt, group, *args, **kwargs)

    def register_cli_opts(self, opts, group=None, *args, **kwargs):
        for opt in opts:
            self.register_cli_opt(opt, group, *args, **kwargs)


def fresh_conf():
    """A new ConfigOpts holding tempest's own options, and its backend."""
    owners = {}
    try:
        from oslo_config import cfg
        conf, backend = cfg.ConfigOpts(), "oslo.config"
    except ImportError:
        try:
            from tempest import config as standin
            conf, backend = standin.ConfigOpts(), "tempest.config"
        except Exception:
            return None, None, None
    recording = RecordingConf(conf, owners)
    recording.owner = TEMPEST
    try:
        from tempest import config as tempest_config
        if hasattr(tempest_config, "_opts") and hasattr(tempest_config, "register_opt_group"):
            for group, opts in tempest_config._opts:
                tempest_config.register_opt_group(recording, group, opts)
        elif hasattr(tempest_config, "register_tempest_opts"):
            tempest_config.register_tempest_opts(recording)
    except Exception:
        pass
    del recording.conflicts[:]
    return recording, backend, owners


def registry():
    """Tempest's own service client registry, emptied, when it can be had."""
    try:
        from tempest.lib.services import clients
        reg = clients.ClientsRegistry()
        if hasattr(reg, "_service_clients"):
            reg._service_clients = {}
        return reg
    except Exception:
        return None


def load_target(module, attr):
    obj = importlib.import_module(module)
    for part in (attr or "").split("."):
        if part:
            obj = getattr(obj, part)
    return obj


def step(record, kind, func, *args):
    """Run one plugin call; on failure record a problem and return (False, None)."""
    try:
        return True, func(*args)
    except BaseException as exc:  # SystemExit from a plugin is its failure too
        if isinstance(exc, KeyboardInterrupt):
            raise
        problem = {"kind": kind}
        problem.update(describe(exc))
        record["problems"].append(problem)
        return False, None


def load_plugin(spec, conf, clients_by_name, reg):
    record = {
        "name": spec["name"],
        "dist": spec.get("dist"),
        "loaded": False,
        "problems": [],
        "service_clients": [],
    }
    ok, target = step(record, "import-error", load_target, spec["module"], spec.get("attr"))
    if not ok:
        return record, None
    ok, obj = step(record, "instantiate-error", target)
    if not ok:
        return record, None
    record["loaded"] = True
    ok, tests = step(record, "load-tests-error", obj.load_tests)
    if ok and not (isinstance(tests, (tuple, list)) and len(tests) == 2):
        record["problems"].append({
            "kind": "load-tests-error",
            "exception": "TypeError",
            "message": "load_tests() returned %r, not (test_dir, top_dir)" % (tests,),
        })
    if conf is not None:
        conf.owner = spec["name"]
        before = len(conf.conflicts)
        try:
            obj.register_opts(conf)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            if not is_duplicate_opt_error(exc) or len(conf.conflicts) == before:
                problem = {"kind": "register-opts-error"}
                problem.update(describe(exc))
                record["problems"].append(problem)
        record["problems"].extend(conf.conflicts[before:])
    step(record, "get-opt-lists-error", obj.get_opt_lists)
    ok, service_clients = step(record, "service-clients-error", obj.get_service_clients)
    if ok and service_clients:
        for client in service_clients:
            name = client.get("name") if isinstance(client, dict) else None
            record["service_clients"].append(name)
            first = clients_by_name.get(name)
            if first is not None and first != spec["name"]:
                record["problems"].append({
                    "kind": "service-client-conflict",
                    "service": name,
                    "first": first,
                    "message": "service client %r is already claimed by %s" % (name, first),
                })
            else:
                clients_by_name.setdefault(name, spec["name"])
        if reg is not None:
            try:
                reg.register_service_client(spec["name"], service_clients)
            except Exception as exc:
                problem = {"kind": "service-client-registry-error"}
                problem.update(describe(exc))
                record["problems"].append(problem)
    return record, obj


def walk(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            for inner in walk(test):
                yield inner
        else:
            yield test


def discover(obj):
    """Discover the plugin's tests as tempest's load_tests hook would."""
    test_dir, top = obj.load_tests()
    loader = unittest.TestLoader()
    suite = loader.discover(test_dir, top_level_dir=top)
    failed_class = getattr(unittest.loader, "_FailedTest", None)
    count, failed = 0, []
    for test in walk(suite):
        if failed_class is not None and isinstance(test, failed_class):
            exc = getattr(test, "_exception", None)
            text = str(exc).strip().splitlines() if exc is not None else []
            failed.append({
                "module": test._testMethodName,
                "message": text[-1] if text else "",
            })
        else:
            count += 1
    for error in getattr(loader, "errors", []):
        lines = str(error).strip().splitlines()
        if not any(lines and f["message"] == lines[-1] for f in failed):
            failed.append({"module": lines[0] if lines else "?", "message": lines[-1] if lines else ""})
    return {"tests": count, "failed_modules": failed}


def main():
    request = json.load(sys.stdin)
    real_stdout = os.fdopen(os.dup(1), "w")
    # Plugins may print, at the Python or the C level: both go to stderr.
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    mode = request["mode"]
    answer = {"mode": mode, "python": sys.version.split()[0], "plugins": []}
    conf, backend, _ = fresh_conf()
    answer["config_backend"] = backend
    reg = registry()
    answer["registry"] = reg is not None
    clients_by_name = {}
    loaded = []
    for spec in request["plugins"]:
        if mode == "alone" or conf is None:
            conf, backend, _ = fresh_conf()
        record, obj = load_plugin(spec, conf, clients_by_name, reg)
        answer["plugins"].append(record)
        loaded.append((record, obj))
    if mode == "together":
        # Tempest keys plugins by name: the last one loaded wins.
        winner = {}
        for record, obj in loaded:
            if obj is not None:
                winner[record["name"]] = record
        for record, obj in loaded:
            if obj is None:
                continue
            if winner.get(record["name"]) is not record:
                record["problems"].append({
                    "kind": "shadowed",
                    "first": winner[record["name"]].get("dist"),
                    "message": "another plugin named %s is loaded after it; "
                               "tempest discovers only that one's tests"
                               % record["name"],
                })
                continue
            try:
                record["discovery"] = discover(obj)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                problem = {"kind": "discovery-error"}
                problem.update(describe(exc))
                record["problems"].append(problem)
                continue
            if record["discovery"]["failed_modules"]:
                record["problems"].append({
                    "kind": "discovery-error",
                    "modules": record["discovery"]["failed_modules"],
                    "message": "; ".join(
                        "%s: %s" % (f["module"], f["message"])
                        for f in record["discovery"]["failed_modules"]),
                })
    sys.stderr.flush()
    real_stdout.write(json.dumps(answer))
    real_stdout.write("\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
