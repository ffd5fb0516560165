"""A fork server: one Python that imports once what every probe of a search
shares, then forks a child per probe that becomes the probe's process.

Started by tempest-env (``src/runner/fork.rs``) with an environment's
python and exactly the flags and variables a fresh probe gets.  Standard
library only, Python 3.8+.  Requests and answers are JSON lines on the
server's own stdin and stdout, read and written with ``os.read`` and
``os.write`` so that no buffer of ``sys.stdin`` or ``sys.stdout`` ever
holds protocol bytes a child would inherit.

First line in: ``{"preload": [module, ...]}``.  The server imports them
with tempest's configuration locked (a module that reads ``CONF`` while
being imported fails to import and is left to each probe, since what it
reads depends on the plugins), checks that nothing that depends on the
plugins was set up (tempest's configuration, its plugin manager, threads),
and answers ``{"ready": true, ...}`` or ``{"ready": false, "why": ...}``.

Then per probe: ``{"op": "run", "id", "argv", "program" | "code", "cwd",
"env", "stdin", "stdout", "stderr", "prefix", "executable", "discovery"}``.
The child takes the probe's process state (its own process group, default
signal dispositions, stdio on the given files, the working directory and
variables; with ``prefix``, the probe environment's interpreter identity
and a ``sys.path`` built by ``site`` itself from that environment), clears
the import and metadata caches, refuses if a module the server imported
would come from elsewhere on the probe's path, and then runs the launcher
``program`` as ``__main__`` (or ``code`` as ``python -c`` does).  With
``discovery``, stestr's test-listing subprocess (``python -m
stestr.subunit_runner.run discover ... --list``) is served the same way,
from a sibling forked before any of the probe's own code ran.  Exceptions
and ``SystemExit`` reach the interpreter's top level, so exit codes,
tracebacks and ``atexit`` are those of a fresh process.  The answer, once
the child is reaped: ``{"id", "status" (the raw wait status), "maxrss_kib",
"note"}``, where the note holds the child's interpreter state (compared
with a fresh interpreter's by tempest-env) or why it refused.

``{"op": "kill", "id", "signal"}`` signals a child's process group;
``{"op": "bye"}`` (or the end of stdin) ends every child and the server,
which answers ``{"bye": {...}}`` with its memory figures first.
"""

import gc
import importlib
import json
import os
import runpy
import select
import signal
import site
import sys
import time
import types

# Exit status of a child that refused before running anything.
REFUSED = 121

# What `site` added at startup, to be redone for each probe's environment.
_STANDARD_FINDERS = ("BuiltinImporter", "FrozenImporter", "PathFinder")


def interpreter_state(server=None):
    """What a fresh interpreter of an environment starts with: compared, for
    every probe, between the served child and a fresh python. Finders and
    hooks that preloaded modules installed are not a start's."""
    import locale
    added = server.preload_hooks if server is not None else []

    def name(obj):
        kind = obj if isinstance(obj, type) else type(obj)
        return "%s.%s" % (kind.__module__, getattr(kind, "__qualname__", kind.__name__))

    return {
        "path": sys.path[1:],
        "prefix": sys.prefix,
        "exec_prefix": sys.exec_prefix,
        "base_prefix": sys.base_prefix,
        "executable": sys.executable,
        "flags": list(sys.flags),
        "meta_path": [name(f) for f in sys.meta_path
                      if not any(f is a for a in added)],
        "path_hooks": [getattr(h, "__qualname__", repr(type(h))) for h in sys.path_hooks
                       if not any(h is a for a in added)],
        "encodings": [
            sys.getfilesystemencoding(),
            sys.getfilesystemencodeerrors(),
            locale.getpreferredencoding(False),
            getattr(sys.stdout, "encoding", None),
            getattr(sys.stdout, "errors", None),
            getattr(sys.stderr, "encoding", None),
            getattr(sys.stderr, "errors", None),
        ],
        "user_site": site.ENABLE_USER_SITE,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "cwd": os.getcwd(),
        "environ": sorted(os.environ.items()),
    }


# -- the server ---------------------------------------------------------------

class Server(object):
    def __init__(self):
        self.inbuf = b""
        self.children = {}  # pid -> [request id, note fd, note bytes]
        self.peak_kib = 0
        self.sampled = 0.0
        self.largest_child_kib = 0
        self.served = 0
        # The finders and hooks `site` (and .pth files) added at startup.
        self.site_finders = [f for f in sys.meta_path
                             if getattr(f, "__name__", type(f).__name__) not in _STANDARD_FINDERS]
        self.site_hooks = list(sys.path_hooks[2:])
        self.site_dirs = site.getsitepackages([sys.prefix])
        # The path before `site` ran: the interpreter's own entries (and
        # PYTHONPATH's, when passed). The script's directory (or '' for
        # `-c`) is inserted after `site` runs, unless isolated.
        self.path0 = not (sys.flags.isolated or getattr(sys.flags, "safe_path", False))
        first_site = len(sys.path)
        for i, entry in enumerate(sys.path):
            if entry in self.site_dirs:
                first_site = i
                break
        head = sys.path[:first_site]
        if self.path0 and head:
            head = head[1:]
        self.pre_site_path = head
        self.skipped = []
        self.captures = None
        self.mapped = []
        self.preload_hooks = []

    # protocol

    def send(self, obj):
        data = (json.dumps(obj) + "\n").encode("utf-8")
        while data:
            n = os.write(1, data)
            data = data[n:]

    def lines(self):
        """Complete request lines read so far."""
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line.decode("utf-8"))

    def read_request(self):
        """Block until one request line is in, for the handshake."""
        while b"\n" not in self.inbuf:
            chunk = os.read(0, 65536)
            if not chunk:
                return None
            self.inbuf += chunk
        for request in self.lines():
            return request
        return None

    # setup

    def preload(self, modules):
        lock = ConfLock()
        skipped = []
        before = set(sys.modules)
        finders, hooks = list(sys.meta_path), list(sys.path_hooks)
        # What a module may keep of the process it is imported in: its
        # arguments, working directory and variables. Here they are marked,
        # so that a module that kept them is found and imported again in
        # each child, with the child's.
        argv, cwd = sys.argv, os.getcwd()
        self.server_cwd = cwd
        self.prefix = sys.prefix
        sys.argv = list(ARGV_MARKS)
        for name in modules:
            lock.engage()
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                missing = getattr(exc, "name", None) or ""
                if not (name == missing or name.startswith(missing + ".")):
                    return "importing %s failed: %s" % (name, exc)
                skipped.append(name)
            except ConfRead:
                skipped.append(name)
                lock.reads = 0
            except Exception as exc:
                return "importing %s failed: %s: %s" % (name, type(exc).__name__, exc)
            finally:
                lock.release()
            if lock.reads:
                return ("%s read tempest's configuration while being imported "
                        "and went on" % name)
        sys.argv = argv
        self.skipped = skipped
        self.preload_hooks = [f for f in sys.meta_path if not any(f is g for g in finders)] + \
            [h for h in sys.path_hooks if not any(h is g for g in hooks)]
        # Longest first: a needle inside another is rewritten after it.
        self.mapped = sorted({ARGV_MARKS[0], cwd, os.path.realpath(cwd), sys.prefix,
                              os.path.realpath(sys.prefix)}, key=len, reverse=True)
        self.captures = Captures(self.mapped)
        for name in list(sys.modules):
            if name not in before and name not in ("__main__", "__mp_main__"):
                self.captures.scan(name, sys.modules[name])
        if self.captures.stuck:
            return ("preloaded modules keep the server's paths where they cannot "
                    "be rewritten: " + "; ".join(self.captures.stuck[:3]))
        return lock.untouched() or untouched_plugins() or single_thread()

    # serving

    def loop(self):
        """Serve until told to stop; returns a request in a child."""
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        signal.set_wakeup_fd(wfd)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.wake = (rfd, wfd)

        def forward(signum, frame):
            # What tempest-env forwards to its runners reaches each probe,
            # in its own process group as a fresh runner is.
            for pid in list(self.children):
                try:
                    os.killpg(pid, signum)
                except OSError:
                    pass

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
        while True:
            for request in self.lines():
                op = request.get("op")
                if op == "run":
                    child = self.fork(request)
                    if child is not None:
                        return child
                elif op == "kill":
                    self.kill(request.get("id"), request.get("signal", signal.SIGKILL))
                elif op == "bye":
                    self.finish()
                    return None
            self.reap()
            watched = [0, rfd] + [c[1] for c in self.children.values() if c[1] is not None]
            try:
                ready, _, _ = select.select(watched, [], [], 1.0 if self.children else None)
            except InterruptedError:
                continue
            # At most once a second: reading a process's proportional
            # memory walks its page tables (milliseconds for a probe).
            if self.children and time.monotonic() - self.sampled >= 1.0:
                self.sampled = time.monotonic()
                self.measure()
            if rfd in ready:
                try:
                    while os.read(rfd, 4096):
                        pass
                except BlockingIOError:
                    pass
            for pid, child in list(self.children.items()):
                if child[1] is not None and child[1] in ready:
                    self.read_note(child)
            if 0 in ready:
                chunk = os.read(0, 65536)
                if not chunk:
                    self.finish()
                    return None
                self.inbuf += chunk

    def read_note(self, child):
        try:
            data = os.read(child[1], 65536)
        except BlockingIOError:
            return
        if data:
            child[2] += data
        else:
            os.close(child[1])
            child[1] = None

    def fork(self, request):
        note_r, note_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(note_r)
            self.close_fds()
            request["_note"] = note_w
            return request
        os.close(note_w)
        try:
            # Also here, so a signal forwarded right away finds the group.
            os.setpgid(pid, pid)
        except OSError:
            pass
        os.set_blocking(note_r, False)
        self.children[pid] = [request.get("id"), note_r, b""]
        self.served += 1
        return None

    def close_fds(self):
        signal.set_wakeup_fd(-1)
        for fd in self.wake:
            os.close(fd)
        for child in self.children.values():
            if child[1] is not None:
                os.close(child[1])
        self.children = {}

    def kill(self, request_id, sig):
        for pid, child in self.children.items():
            if child[0] == request_id:
                try:
                    os.killpg(pid, sig)
                except OSError:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass

    def reap(self):
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self.largest_child_kib = max(self.largest_child_kib, usage.ru_maxrss)
            while child[1] is not None:
                os.set_blocking(child[1], True)
                self.read_note(child)
            note = None
            if child[2]:
                try:
                    note = json.loads(child[2].decode("utf-8"))
                except ValueError:
                    note = None
            self.send({"id": child[0], "status": status,
                       "maxrss_kib": usage.ru_maxrss,
                       "cpu_seconds": usage.ru_utime + usage.ru_stime, "note": note})

    def measure(self):
        """Sample the memory of the server and every process below it; the
        peak of these samples is reported."""
        total = sum(memory_kib(pid) for pid in descendants(os.getpid()))
        self.peak_kib = max(self.peak_kib, total)

    def finish(self):
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                break
            self.children.pop(pid, None)
        self.send({"bye": {
            "served": self.served,
            "peak_kib": self.peak_kib,
            "server_kib": memory_kib(os.getpid()),
            "largest_child_kib": self.largest_child_kib,
        }})


def memory_kib(pid):
    """A process's proportional share of resident memory (pages it shares
    with the server and its siblings are divided among them), or its
    resident size where the kernel does not give the share."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/%d/statm" % pid) as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


def descendants(pid):
    """``pid`` and every process below it."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            with open("/proc/%d/task/%d/children" % (current, current)) as f:
                queue.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            pass
    return found


# The server's arguments while preloading: a module that keeps them (a
# default argument of ``sys.argv[1:]``) is found by these marks.
ARGV_MARKS = ["/tempest-env/fork-server/argv0", "/tempest-env/fork-server/argv1"]


class Captures(object):
    """Strings preloaded modules kept of the server's process (its working
    directory, environment root, arguments), and where: in each child they
    are rewritten to the probe's, as if the module had been imported there.

    Places are reached from a module's globals through dict items, list
    items, attributes of objects and classes, and function defaults; a
    string elsewhere (a tuple, a closure, a dict key) cannot be rewritten
    and makes the server refuse."""

    def __init__(self, needles):
        self.needles = needles
        self.places = []  # (module, [step, ...])
        self.stuck = []

    def has(self, text):
        return any(n in text for n in self.needles)

    def scan(self, name, module):
        seen = set()
        try:
            items = list(vars(module).items())
        except TypeError:
            return
        for key, value in items:
            if not (key.startswith("__") and key.endswith("__")):
                self.visit(name, [("attr", key)], value, 3, seen)

    def visit(self, name, path, value, depth, seen):
        if isinstance(value, str):
            if self.has(value):
                self.places.append((name, path))
            return
        if depth == 0 or id(value) in seen or isinstance(
                value, (types.ModuleType, bytes, bytearray, int, float, complex, bool)):
            return
        seen.add(id(value))
        try:
            if isinstance(value, list):
                if value and all(isinstance(v, str) and v in ARGV_MARKS for v in value):
                    self.places.append((name, path + [("argv", None)]))
                    return
                for i, item in enumerate(value[:64]):
                    self.visit(name, path + [("item", i)], item, depth - 1, seen)
            elif isinstance(value, dict):
                for key, item in list(value.items())[:64]:
                    if isinstance(key, str) and self.has(key):
                        self.stuck.append("%s: a key %r" % (name, key))
                    self.visit(name, path + [("item", key)], item, depth - 1, seen)
            elif isinstance(value, (tuple, frozenset, set)):
                if any(isinstance(v, str) and self.has(v) for v in list(value)[:64]):
                    self.stuck.append("%s: %s in a %s" % (
                        name, ".".join(str(s[1]) for s in path), type(value).__name__))
            elif isinstance(value, types.FunctionType):
                for i, item in enumerate(value.__defaults__ or ()):
                    self.visit(name, path + [("default", i)], item, depth - 1, seen)
                for key, item in (value.__kwdefaults__ or {}).items():
                    self.visit(name, path + [("kwdefault", key)], item, depth - 1, seen)
            elif isinstance(value, type):
                if getattr(value, "__module__", None) == name:
                    for key, item in list(vars(value).items()):
                        if not (key.startswith("__") and key.endswith("__")):
                            self.visit(name, path + [("attr", key)], item, depth - 1, seen)
            else:
                attributes = getattr(value, "__dict__", None)
                if isinstance(attributes, dict):
                    for key, item in list(attributes.items())[:64]:
                        self.visit(name, path + [("attr", key)], item, depth - 1, seen)
        except Exception:
            return

    def rewrite(self, mapping, argv):
        """Rewrite every place with ``mapping`` (needle -> the probe's)."""
        for name, path in self.places:
            owner = sys.modules.get(name)
            try:
                for kind, key in path[:-1]:
                    owner = step(owner, kind, key)
                kind, key = path[-1]
                if kind == "argv":
                    # A copy of the server's arguments from some index on
                    # (argv[1:] was [mark1]): the probe's from there.
                    first = ARGV_MARKS.index(owner[0])
                    owner[:] = list(argv[first:])
                    continue
                value = step(owner, kind, key)
                for needle, replacement in mapping:
                    value = value.replace(needle, replacement)
                put(owner, kind, key, value)
            except Exception:
                continue


def step(owner, kind, key):
    if kind == "attr":
        return getattr(owner, key) if not isinstance(owner, dict) else owner[key]
    if kind == "item":
        return owner[key]
    if kind == "default":
        return owner.__defaults__[key]
    if kind == "kwdefault":
        return owner.__kwdefaults__[key]
    raise KeyError(kind)


def put(owner, kind, key, value):
    if kind == "attr":
        if isinstance(owner, type):
            type.__setattr__(owner, key, value)
        else:
            object.__setattr__(owner, key, value) if not isinstance(owner, types.ModuleType) \
                else setattr(owner, key, value)
    elif kind == "item":
        owner[key] = value
    elif kind == "default":
        defaults = list(owner.__defaults__)
        defaults[key] = value
        owner.__defaults__ = tuple(defaults)
    elif kind == "kwdefault":
        owner.__kwdefaults__[key] = value


class ConfRead(Exception):
    """A module read tempest's configuration while being preloaded."""


class ConfLock(object):
    """Real tempest's ``CONF`` initialises itself (loading every plugin) on
    its first attribute read: while preloading, such a read fails the import
    of the module that made it instead."""

    def __init__(self):
        self.proxy = None
        self.reads = 0

    def find(self):
        config = sys.modules.get("tempest.config")
        proxy = getattr(config, "TempestConfigProxy", None)
        if proxy is not None and "__getattr__" in vars(proxy):
            self.proxy = proxy
            self.original = vars(proxy)["__getattr__"]
            self.conf = getattr(config, "CONF", None)

    def engage(self):
        if self.proxy is None:
            self.find()
        if self.proxy is not None:
            lock = self

            def locked(obj, attr):
                lock.reads += 1
                raise ConfRead(attr)
            self.proxy.__getattr__ = locked

    def release(self):
        if self.proxy is not None:
            self.proxy.__getattr__ = self.original

    def untouched(self):
        if self.proxy is not None and vars(self.conf).get("_config") is not None:
            return "tempest's configuration was initialised while preloading"
        return None


def untouched_plugins():
    plugins = sys.modules.get("tempest.test_discover.plugins")
    factory = getattr(plugins, "TempestTestPluginManager", None)
    for cell in getattr(factory, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, dict) and value:
            return "tempest's plugin manager was created while preloading"
    return None


def single_thread():
    import threading
    if threading.active_count() != 1:
        return "a preloaded module started a thread"
    return None


# -- the child ----------------------------------------------------------------

class BecomeDiscovery(Exception):
    """Raised in the discovery sibling to leave the probe's frames."""

    def __init__(self, channel):
        Exception.__init__(self)
        self.channel = channel


def note(request, payload):
    fd = request.get("_note")
    if fd is None:
        return
    data = json.dumps(payload).encode("utf-8")
    while data:
        data = data[os.write(fd, data):]
    os.close(fd)
    request["_note"] = None


def become(server, request):
    """Take the probe's process state; returns why it cannot, or None."""
    os.setpgid(0, 0)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stdin = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for fd, target in ((stdin, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if request.get("prefix"):
        enter_environment(server, request)
    importlib.invalidate_caches()
    refresh_singletons()
    return shadowed(server)


def enter_environment(server, request):
    """The probe environment's interpreter identity and ``sys.path``, made by
    ``site`` itself as at a fresh interpreter's start."""
    prefix = request["prefix"]
    sys.executable = request["executable"]
    sys.prefix = sys.exec_prefix = prefix
    if hasattr(sys, "orig_argv"):
        sys.orig_argv = [request["executable"]] + list(request["argv"])
    for finder in server.site_finders:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
    for hook in server.site_hooks:
        if hook in sys.path_hooks:
            sys.path_hooks.remove(hook)
    sys.path[:] = list(server.pre_site_path)
    site.PREFIXES = [prefix, prefix]
    site.ENABLE_USER_SITE = None
    site.USER_SITE = None
    site.USER_BASE = None
    sysconfig = sys.modules.get("sysconfig")
    if sysconfig is not None and getattr(sysconfig, "_CONFIG_VARS", None) is not None:
        sysconfig._CONFIG_VARS = None
        if hasattr(sysconfig, "_CONFIG_VARS_INITIALIZED"):
            sysconfig._CONFIG_VARS_INITIALIZED = False
    site.main()
    if server.path0:
        sys.path.insert(0, "")


def refresh_singletons():
    """Module state computed from the server's process at import time."""
    import tempfile
    tempfile.tempdir = None
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        try:
            multiprocessing.set_executable(sys.executable)
        except Exception:
            pass


def provided(entry, wanted):
    """Which of the top-level names in ``wanted`` an entry of ``sys.path``
    provides as a module or a regular package (a directory without
    ``__init__`` is a namespace portion, which never hides either)."""
    found = set()
    try:
        listing = os.listdir(entry or ".")
    except OSError:
        return found
    for name in listing:
        if name.endswith(".py"):
            stem = name[:-3]
        elif name.endswith((".so", ".pyd")):
            stem = name.split(".", 1)[0]
        elif "." not in name and name in wanted:
            path = os.path.join(entry, name)
            if not any(os.path.exists(os.path.join(path, init))
                       for init in ("__init__.py", "__init__.pyc")):
                continue
            stem = name
        else:
            continue
        if stem in wanted:
            found.add(stem)
    return found


def shadowed(server):
    """Why a module the server imported would not be the one this probe
    imports: an entry before the one it came from provides its name."""
    origins = {}
    for name, module in list(sys.modules.items()):
        if "." in name or name == "__main__":
            continue
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if not origin or origin in ("built-in", "frozen") or not os.path.isabs(origin):
            continue
        if os.path.basename(origin).startswith("__init__."):
            origin = os.path.dirname(origin)
        origins[name] = os.path.dirname(origin)
    wanted = set(origins)
    for entry in sys.path[1 if server.path0 else 0:]:
        if not wanted:
            break
        for name in provided(entry, wanted):
            wanted.discard(name)
            if os.path.realpath(entry) != os.path.realpath(origins[name]):
                return "module %s, imported from %s, would come from %s" % (
                    name, origins[name], entry)
    return None


def rebase(server, request, argv):
    """Rewrite what preloaded modules kept of the server to the probe's."""
    if server.captures is None:
        return
    probe = {}
    cwd = request["cwd"]
    root = request.get("prefix") or sys.prefix
    server_cwd = server.server_cwd
    for needle in server.mapped:
        if needle in (server_cwd, os.path.realpath(server_cwd)):
            probe[needle] = cwd if needle == server_cwd else os.path.realpath(cwd)
        elif needle == ARGV_MARKS[0]:
            probe[needle] = argv[0] if argv else ""
        else:
            probe[needle] = root if needle == server.prefix else os.path.realpath(root)
    server.captures.rewrite([(n, probe[n]) for n in server.mapped], argv)


def run_child(server, request):
    """The probe itself, at the interpreter's top level."""
    why = become(server, request)
    if why is not None:
        note(request, {"refused": why})
        os._exit(REFUSED)
    note(request, {"state": interpreter_state(server)})
    sibling = None
    if request.get("discovery"):
        sibling = discovery_sibling(server, request)
    argv = list(request["argv"])
    sys.argv = ["-c"] + argv[1:] if "code" in request else argv
    rebase(server, request, sys.argv)
    try:
        if "code" in request:
            main = types.ModuleType("__main__")
            main.__dict__["__builtins__"] = __builtins__
            sys.modules["__main__"] = main
            if server.path0:
                sys.path[0] = ""
            exec(compile(request["code"], "<string>", "exec"), main.__dict__)
        else:
            program = request["program"]
            if server.path0:
                sys.path[0] = os.path.dirname(os.path.realpath(program))
            runpy.run_path(program, run_name="__main__")
    finally:
        if sibling is not None:
            sibling.close()


# -- stestr's listing subprocess ----------------------------------------------

class DiscoverySibling(object):
    """A fork of the probe taken before any of its own code ran, waiting to
    become ``python -m stestr.subunit_runner.run discover ... --list``."""

    def __init__(self, pid, command_w, out_r):
        self.pid = pid
        self.command_w = command_w
        self.out_r = out_r
        self.used = False

    def close(self):
        if self.command_w is not None:
            os.close(self.command_w)
            self.command_w = None
        if not self.used:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def discovery_sibling(server, request):
    processor = sys.modules.get("stestr.test_processor")
    fixture = getattr(processor, "TestProcessorFixture", None)
    original = getattr(fixture, "_start_process", None)
    if original is None:
        return None
    command_r, command_w = os.pipe()
    out_r, out_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(command_w)
        os.close(out_r)
        raise BecomeDiscovery((server, request, command_r, out_w))
    os.close(command_r)
    os.close(out_w)
    sibling = DiscoverySibling(pid, command_w, out_r)

    def start_process(self, cmd):
        argv = listing_argv(cmd, self)
        if argv is None or sibling.command_w is None:
            return original(self, cmd)
        command = json.dumps({"argv": argv, "env": dict(os.environ),
                              "cwd": os.getcwd()}).encode("utf-8")
        while command:
            command = command[os.write(sibling.command_w, command):]
        os.close(sibling.command_w)
        sibling.command_w = None
        sibling.used = True
        return ServedProcess(cmd, sibling.pid, sibling.out_r)

    fixture._start_process = start_process
    return sibling


def listing_argv(cmd, fixture):
    """The argv of stestr's listing command when it is exactly
    ``PYTHON -m stestr.subunit_runner.run discover -t TOP PATH --list``
    (``PYTHON`` as ``${PYTHON}``, ``${PYTHON:-python}`` or a path) and that
    python is this environment's; None otherwise."""
    import shlex
    if cmd != getattr(fixture, "list_cmd", None):
        return None
    python = os.environ.get("PYTHON", "")
    text = cmd.replace("${PYTHON:-python}", shlex.quote(python or "python"), 1)
    text = text.replace("${PYTHON}", shlex.quote(python), 1)
    if "$" in text or "`" in text or "\\" in text:
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    if len(words) != 8 or words[1:4] != ["-m", "stestr.subunit_runner.run", "discover"] \
            or words[4] != "-t" or words[7] != "--list":
        return None
    exe = words[0]
    if "/" not in exe:
        for entry in os.environ.get("PATH", "").split(os.pathsep):
            candidate = os.path.join(entry, exe)
            if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
                exe = candidate
                break
    if os.path.realpath(exe) != os.path.realpath(sys.executable) \
            or os.path.dirname(os.path.abspath(exe)) != os.path.dirname(sys.executable):
        return None
    return ["-m"] + words[2:]


class ServedProcess(object):
    """What stestr's ``list_tests`` uses of a ``subprocess.Popen``."""

    def __init__(self, args, pid, out_r):
        self.args = args
        self.pid = pid
        self.stdout = os.fdopen(out_r, "rb")
        self.stdin = None
        self.stderr = None
        self.returncode = None

    def communicate(self, input=None, timeout=None):
        out = self.stdout.read()
        self.stdout.close()
        self.wait()
        return out, None

    def wait(self, timeout=None):
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            if os.WIFSIGNALED(status):
                self.returncode = -os.WTERMSIG(status)
            else:
                self.returncode = os.WEXITSTATUS(status)
        return self.returncode

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) \
                    else os.WEXITSTATUS(status)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def run_discovery(channel):
    """The discovery sibling: wait for stestr's command, then be that
    ``python -m`` process (its stdout the pipe stestr reads)."""
    server, request, command_r, out_w = channel
    data = b""
    while True:
        chunk = os.read(command_r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(command_r)
    if not data:
        os._exit(0)
    command = json.loads(data.decode("utf-8"))
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    os.dup2(out_w, 1)
    os.close(out_w)
    os.chdir(command["cwd"])
    os.environ.clear()
    os.environ.update(command["env"])
    argv = command["argv"]
    sys.argv = ["-m"] + argv[2:]
    rebase(server, {"cwd": command["cwd"], "prefix": request.get("prefix")}, sys.argv)
    if server.path0:
        sys.path[0] = os.getcwd()
    sys.modules["__main__"] = types.ModuleType("__main__")
    sys.modules["__main__"].__dict__["__builtins__"] = __builtins__
    # As in a fresh `python -m`, the module runs as __main__ only (runpy
    # warns when it is also imported under its own name).
    sys.modules.pop(argv[1], None)
    runpy._run_module_as_main(argv[1])


# -- entry --------------------------------------------------------------------

def serve():
    if len(sys.argv) > 1 and sys.argv[1] == "--state":
        os.write(1, json.dumps(interpreter_state()).encode("utf-8"))
        return None
    server = Server()
    config = server.read_request()
    if config is None:
        return None
    why = server.preload(config.get("preload") or [])
    if why is not None:
        server.send({"ready": False, "why": why})
        return None
    # Objects the server made are never collected by a child: fewer pages
    # copied, and no collection walks them again in every probe.
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()
    server.send({"ready": True, "pid": os.getpid(), "python": sys.version.split()[0],
                 "modules": len(sys.modules), "skipped": server.skipped,
                 "rewritten": ["%s:%s" % (name, ".".join(str(k) for _, k in path))
                               for name, path in server.captures.places],
                 "server_kib": memory_kib(os.getpid())})
    request = server.loop()
    if request is None:
        return None
    return server, request


_job = serve()
_discovery = None
if _job is not None:
    try:
        run_child(*_job)
    except BecomeDiscovery as _become:
        _discovery = _become.channel
    del _job
if _discovery is not None:
    run_discovery(_discovery)
