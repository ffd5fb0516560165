"""Load tempest plugins the way tempest does, and say what goes wrong.

Run by ``tempest-env plugins --check`` with the environment's python
(``-I -B``: PYTHON* variables and the user site ignored, the environment's
site-packages and ``.pth`` files processed as usual), in a scratch
directory holding an empty ``etc/tempest.conf``.  Standard library only,
Python 3.8+.

stdin: ``{"mode": "alone" | "together", "plugins": [{"name", "module",
"attr", "dist"}, ...]}``.  stdout: one JSON object.  Whatever the plugins
or tempest print goes to stderr, so it cannot corrupt the answer.

The plugins are loaded and instantiated as stevedore does for tempest's
plugin manager; then that manager (tempest's own class) is made to hold
exactly the requested plugins, and tempest's own code does the rest: its
configuration is initialised as the first ``CONF`` access in a test module
initialises it (tempest's options, every plugin's ``register_opts``, the
option-group aliases, the service-client registry), then tempest's
``ServiceClients`` takes every registered service client, as each test's
client manager does.  The plugin objects and ``ConfigOpts.register_opt``
are only observed, never replaced, so a failure tempest swallows (it logs
``register_opts`` and ``get_service_clients`` errors and goes on) is still
seen and attributed.  In ``together`` mode every plugin's tests are then
discovered with one ``unittest`` loader, as tempest's ``load_tests`` hook
does.  The offline stand-in (no oslo.config) is driven the way its own
``tempest run`` drives it.
"""

import collections
import functools
import importlib
import json
import os
import re
import sys
import traceback
import unittest

TEMPEST = "tempest"


def describe(exc):
    """An exception as data: class, message, missing module, last frames."""
    text = str(exc).strip()
    out = {
        "exception": type(exc).__name__,
        "message": text.splitlines()[0] if text else "",
    }
    if isinstance(exc, ModuleNotFoundError) and getattr(exc, "name", None):
        out["missing_module"] = exc.name
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<")
              and os.path.basename(os.path.dirname(f.filename)) != "importlib"]
    lines = traceback.format_list(frames[-3:])
    lines += traceback.format_exception_only(type(exc), exc)
    out["traceback"] = "".join(lines).rstrip()
    return out


def named(exc, *names):
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def group_name(group):
    if group is None:
        return "DEFAULT"
    return getattr(group, "name", None) or str(group)


class Plugin(object):
    """One requested plugin: its record in the answer and its object."""

    def __init__(self, spec):
        self.name = spec["name"]
        self.spec = spec
        self.obj = None
        self.plugin_class = None
        self.record = {
            "name": self.name,
            "dist": spec.get("dist"),
            "loaded": False,
            "problems": [],
            "service_clients": [],
        }

    def problem(self, kind, exc=None, **fields):
        problem = {"kind": kind}
        if exc is not None:
            problem.update(describe(exc))
        problem.update(fields)
        if problem not in self.record["problems"]:
            self.record["problems"].append(problem)

    def has(self, *kinds):
        return any(p["kind"] in kinds for p in self.record["problems"])


class Observer(object):
    """Who registers which option, and who a swallowed failure belongs to."""

    def __init__(self):
        self.owner = None  # the Plugin whose hook is running, None for tempest
        self.owners = {}   # (group, option) -> plugin name or "tempest"
        self.raised = {}   # id(plugin) -> the exceptions its hooks raised

    def observe_conf_class(self, conf_class):
        """Wrap ``conf_class.register_opt`` to record owners and conflicts."""
        original = conf_class.register_opt
        observer = self

        @functools.wraps(original)
        def register_opt(conf, opt, group=None, *args, **kwargs):
            key = (group_name(group), getattr(opt, "dest", None)
                   or getattr(opt, "name", str(opt)))
            try:
                result = original(conf, opt, group, *args, **kwargs)
            except Exception as exc:
                if named(exc, "DuplicateOptError") and observer.owner is not None:
                    observer.owner.problem(
                        "config-conflict", group=key[0], option=key[1],
                        first=observer.owners.get(key),
                        exception=type(exc).__name__, message=str(exc))
                raise
            who = observer.owner.name if observer.owner is not None else TEMPEST
            observer.owners.setdefault(key, who)
            return result

        conf_class.register_opt = register_opt

    def hook(self, plugin, method, kind):
        """Wrap ``plugin.obj.method`` so a failure is recorded, then raised
        on exactly as before (tempest decides what it means)."""
        original = getattr(plugin.obj, method)
        observer = self

        @functools.wraps(original)
        def observed(*args, **kwargs):
            previous, observer.owner = observer.owner, plugin
            try:
                return original(*args, **kwargs)
            except Exception as exc:
                if not (kind == "register-opts-error" and plugin.has("config-conflict")):
                    plugin.problem(kind, exc)
                observer.raised.setdefault(id(plugin), []).append(exc)
                raise
            finally:
                observer.owner = previous

        try:
            setattr(plugin.obj, method, observed)
        except (AttributeError, TypeError):
            pass  # an object that refuses attributes is only not observed


def load(plugin):
    """Import and instantiate, as stevedore does with ``invoke_on_load``."""
    try:
        target = importlib.import_module(plugin.spec["module"])
        for part in (plugin.spec.get("attr") or "").split("."):
            if part:
                target = getattr(target, part)
    except BaseException as exc:  # SystemExit from a plugin is its failure too
        if isinstance(exc, KeyboardInterrupt):
            raise
        plugin.problem("import-error", exc)
        return
    try:
        plugin.obj = target()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        plugin.problem("instantiate-error", exc)
        return
    plugin.plugin_class = target
    plugin.record["loaded"] = True


def check_load_tests(plugin):
    try:
        tests = plugin.obj.load_tests()
    except Exception as exc:
        plugin.problem("load-tests-error", exc)
        return None
    if not (isinstance(tests, (tuple, list)) and len(tests) == 2):
        plugin.problem("load-tests-error", exception="TypeError",
                       message="load_tests() returned %r, not (test_dir, top_dir)"
                       % (tests,))
        return None
    return tests


class Tempest(object):
    """The tempest of this environment: real (oslo.config, the lazy
    ``CONF`` proxy) or the offline stand-in."""

    def __init__(self):
        from tempest import config
        from tempest.test_discover import plugins
        self.config = config
        self.plugins = plugins
        self.real = hasattr(config, "TempestConfigProxy")
        if self.real:
            from oslo_config import cfg
            self.conf = cfg.CONF
            self.backend = "oslo.config"
        else:
            self.conf = config.CONF
            self.backend = "tempest.config"

    def registry(self):
        from tempest.lib.services import clients
        return clients.ClientsRegistry()

    def install(self, loaded):
        """Make tempest's plugin manager hold exactly ``loaded``."""
        factory = self.plugins.TempestTestPluginManager
        manager_class, instances = factory, None
        for cell in getattr(factory, "__closure__", None) or ():
            value = cell.cell_contents
            if isinstance(value, type):
                manager_class = value
            elif isinstance(value, dict):
                instances = value
        manager = manager_class.__new__(manager_class)
        if self.real:
            import stevedore
            from stevedore import extension
            try:
                from importlib.metadata import EntryPoint
            except ImportError:  # pragma: no cover (3.8 has it)
                EntryPoint = None
            exts = []
            for p in loaded:
                value = p.spec.get("target") or "%s:%s" % (
                    p.spec["module"], p.spec.get("attr") or "")
                ep = EntryPoint(p.name, value, "tempest.test_plugins") \
                    if EntryPoint is not None else None
                exts.append(extension.Extension(p.name, ep, p.plugin_class, p.obj))
            manager.ext_plugins = stevedore.ExtensionManager.make_test_instance(
                exts, namespace="tempest.test_plugins")
        else:
            manager.entry_points = []
            manager.ext_plugins = [
                self.plugins.Extension(p.name, None, p.plugin_class, p.obj)
                for p in loaded]
        # tempest's manager is a singleton: seed it, and make every later
        # call (config.py, test_discover.py) return this one.
        if instances is not None:
            instances[manager_class] = manager
        self.plugins.TempestTestPluginManager = lambda: manager
        return manager

    def initialise(self, manager):
        """Initialise the configuration as tempest's first ``CONF`` access
        does (real tempest) or as the stand-in's ``tempest run`` does."""
        if self.real:
            self.config.CONF.auth  # the proxy: options, aliases, clients
        else:
            self.config.CONF.load_file(self.config.default_config_path())
            if hasattr(self.config, "register_tempest_opts"):
                self.config.register_tempest_opts(self.conf)
            manager.register_plugin_opts(self.conf)
            try:
                manager._register_service_clients()
            except Exception:
                pass  # the registry's refusal is attributed where it is raised


def blame_config_error(exc, loaded, observer, answer):
    """A configuration that cannot be initialised fails every test module
    that reads ``CONF``. Blame the plugin whose hook raised it, else the one
    whose option group is missing (``_set_attrs``), else, alone, the one
    plugin there is."""
    text = str(exc)
    culprits = [p for p in loaded if any(e is exc for e in observer.raised.get(id(p), ()))]
    if not culprits:
        for p in loaded:
            try:
                groups = [group_name(g) for g, _ in (p.obj.get_opt_lists() or [])]
            except Exception:
                groups = []
            if any(g and ("[%s]" % g in text or "'%s'" % g in text
                          or "option %s " % g in text or text.endswith(" %s" % g))
                   for g in groups):
                culprits.append(p)
        if not culprits and answer["mode"] == "alone":
            culprits = list(loaded)
        for p in culprits:
            p.problem("config-error", exc)
    error = describe(exc)
    error["plugins"] = [p.name for p in culprits]
    answer["config_error"] = error


def check_service_clients(loaded):
    """Register every service client the way each test's client manager
    does (``ServiceClients.__init__``), and attribute what it refuses."""
    from tempest.lib import auth
    from tempest.lib.services import clients
    by_name = dict((p.name, p) for p in loaded)
    registered = clients.ClientsRegistry().get_service_clients()
    queue = collections.defaultdict(collections.deque)
    for plugin_name, data in registered.items():
        for client in data or ():
            if isinstance(client, dict):
                key = (client.get("name"), client.get("service_version"),
                       client.get("module_path"))
                queue[key].append(plugin_name)
    for p in loaded:
        p.record["service_clients"] = [
            c.get("name") for c in registered.get(p.name) or () if isinstance(c, dict)]

    class Observed(clients.ServiceClients):
        def register_service_client_module(self, name, service_version,
                                           module_path, client_names, **kwargs):
            owners = self.__dict__.setdefault("_probe_owners", {})
            who = queue[(name, service_version, module_path)]
            plugin_name = who.popleft() if who else None
            try:
                return super(Observed, self).register_service_client_module(
                    name, service_version, module_path, client_names, **kwargs)
            except Exception as exc:
                plugin = by_name.get(plugin_name)
                if plugin is not None:
                    first = owners.get(name) or owners.get(service_version)
                    if first is not None:
                        plugin.problem("service-client-conflict", exc,
                                       service=name, first=first)
                    else:
                        plugin.problem("service-client-error", exc, service=name)
                raise
            finally:
                owners.setdefault(name, plugin_name or TEMPEST)
                owners.setdefault(service_version, plugin_name or TEMPEST)

    credentials = auth.KeystoneV3Credentials(
        username="probe", password="probe", project_name="probe",
        user_domain_name="Default", project_domain_name="Default")
    try:
        Observed(credentials, "http://127.0.0.1:9/identity/v3")
    except Exception as exc:
        # Before registering anything, tempest's available_modules() refuses
        # a service_version claimed twice, one PluginRegistrationException
        # per plugin after the first claimant.
        items = exc.args if named(exc, "MultipleExceptions") else (exc,)
        for item in items:
            error = item[1] if isinstance(item, tuple) and len(item) == 3 else item
            if isinstance(error, BaseException):
                blame_version_clash(error, registered, by_name)


def blame_version_clash(error, registered, by_name):
    """Attribute a ``PluginRegistrationException`` from available_modules()
    to the plugin it names, with the plugin that claimed the version first."""
    if not named(error, "PluginRegistrationException"):
        return
    text = str(error)
    claimed = {}  # service_version -> first plugin, in registry order
    for plugin_name, data in registered.items():
        for client in data or ():
            if not isinstance(client, dict):
                continue
            version = client.get("service_version")
            first = claimed.setdefault(version, plugin_name)
            plugin = by_name.get(plugin_name)
            if first != plugin_name and plugin is not None and re.search(
                    r"\bplugin %s\b" % re.escape(plugin_name), text, re.I):
                plugin.problem("service-client-conflict", error,
                               service=client.get("name"), first=first)
                return


def walk(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            for inner in walk(test):
                yield inner
        else:
            yield test


def discover(loader, test_dir, top):
    """Discover one plugin's tests as tempest's ``load_tests`` hook does."""
    errors_before = len(getattr(loader, "errors", []))
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
    for error in getattr(loader, "errors", [])[errors_before:]:
        lines = str(error).strip().splitlines()
        if not any(lines and f["message"] == lines[-1] for f in failed):
            failed.append({"module": lines[0] if lines else "?",
                           "message": lines[-1] if lines else ""})
    return {"tests": count, "failed_modules": failed}


def discover_all(loaded, tests_of):
    # Tempest keys plugins by name: of two with one name, the last loaded wins.
    winner = {}
    for p in loaded:
        winner[p.name] = p
    loader = unittest.TestLoader()
    for p in loaded:
        if winner[p.name] is not p:
            p.problem("shadowed", first=winner[p.name].record["dist"],
                      message="another plugin named %s is loaded after it; "
                              "tempest discovers only that one's tests" % p.name)
            continue
        if tests_of.get(id(p)) is None:
            continue
        try:
            p.record["discovery"] = discover(loader, *tests_of[id(p)])
        except Exception as exc:
            p.problem("discovery-error", exc)
            continue
        failed = p.record["discovery"]["failed_modules"]
        if failed:
            p.problem("discovery-error", modules=failed,
                      message="%d test module(s) fail to import; the first, %s: %s"
                      % (len(failed), failed[0]["module"], failed[0]["message"]))


def main():
    request = json.load(sys.stdin)
    real_stdout = os.fdopen(os.dup(1), "w")
    # Plugins may print, at the Python or the C level: both go to stderr.
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    mode = request["mode"]
    answer = {"mode": mode, "python": sys.version.split()[0],
              "config_backend": None, "tempest": None}
    plugins = [Plugin(spec) for spec in request["plugins"]]
    try:
        tempest = Tempest()
        answer["tempest"] = "tempest" if tempest.real else "stand-in"
        answer["config_backend"] = tempest.backend
    except Exception as exc:
        tempest = None
        answer["tempest_error"] = describe(exc)
    for p in plugins:
        load(p)
    loaded = [p for p in plugins if p.obj is not None]
    tests_of = dict((id(p), check_load_tests(p)) for p in loaded)
    if tempest is not None:
        observer = Observer()
        observer.observe_conf_class(type(tempest.conf))
        registry = tempest.registry()
        for p in loaded:
            observer.hook(p, "register_opts", "register-opts-error")
            observer.hook(p, "get_opt_lists", "get-opt-lists-error")
            observer.hook(p, "get_service_clients", "service-clients-error")
        original = registry.register_service_client

        def register_service_client(plugin_name, data):
            # The stand-in's registry refuses a service name another plugin
            # holds (real tempest's ServiceClients does, checked below).
            held = {}
            for other, clients in registry.get_service_clients().items():
                for client in clients or ():
                    if isinstance(client, dict):
                        held.setdefault(client.get("name"), other)
            try:
                return original(plugin_name, data)
            except Exception as exc:
                clash = [c.get("name") for c in data or ()
                         if isinstance(c, dict) and c.get("name") in held]
                for p in loaded:
                    if p.name != plugin_name:
                        continue
                    if clash:
                        p.problem("service-client-conflict", exc, service=clash[0],
                                  first=held[clash[0]])
                    else:
                        p.problem("service-client-registry-error", exc)
                    break
                raise

        registry.register_service_client = register_service_client
        manager = tempest.install(loaded)
        try:
            tempest.initialise(manager)
        except Exception as exc:
            blame_config_error(exc, loaded, observer, answer)
        else:
            if tempest.real:
                check_service_clients(loaded)
    if mode == "together":
        discover_all(loaded, tests_of)
    answer["plugins"] = [p.record for p in plugins]
    sys.stderr.flush()
    real_stdout.write(json.dumps(answer))
    real_stdout.write("\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
