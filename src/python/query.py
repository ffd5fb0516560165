# Run as `python -I -B -c <this>`: report what tempest-env needs to know about
# an interpreter as one JSON object on stdout. Standard library only, and no
# syntax newer than Python 3.6, so older interpreters can be told apart from
# broken ones.
import json
import os
import platform
import site
import sys
import sysconfig

if sys.version_info < (3, 6):
    print(json.dumps({"too_old": platform.python_version(),
                      "executable": os.path.realpath(sys.executable)}))
    sys.exit(0)

MARK = "/@TEMPEST_ENV_BASE@"
names = sysconfig.get_scheme_names()
if "venv" in names:
    scheme_name = "venv"
elif os.name == "nt":
    scheme_name = "nt"
else:
    scheme_name = "posix_prefix"
fake = {"base": MARK, "platbase": MARK, "installed_base": MARK, "installed_platbase": MARK}
paths = sysconfig.get_paths(scheme=scheme_name, vars=fake)
scheme = {}
for key in ("purelib", "platlib", "scripts", "include", "data"):
    scheme[key] = os.path.relpath(paths[key], MARK)

try:
    site_packages = site.getsitepackages()
except AttributeError:
    site_packages = []
try:
    user_site = site.getusersitepackages()
except AttributeError:
    user_site = None

libc = platform.libc_ver()
impl = sys.implementation
iv = impl.version
implementation_version = "%d.%d.%d" % (iv.major, iv.minor, iv.micro)
if iv.releaselevel != "final":
    implementation_version += iv.releaselevel[0] + str(iv.serial)

print(json.dumps({
    "executable": os.path.realpath(sys.executable),
    "sys_executable": sys.executable,
    "version": platform.python_version(),
    "version_info": list(sys.version_info[:3]) + [sys.version_info[3], sys.version_info[4]],
    "implementation": impl.name,
    "cache_tag": getattr(impl, "cache_tag", None),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "base_exec_prefix": getattr(sys, "base_exec_prefix", sys.exec_prefix),
    "scheme": scheme,
    "stdlib": sysconfig.get_paths()["stdlib"],
    "site_packages": site_packages,
    "user_site": user_site,
    "platform": sysconfig.get_platform(),
    "soabi": sysconfig.get_config_var("SOABI"),
    "abiflags": getattr(sys, "abiflags", ""),
    "libc": [libc[0], libc[1]],
    "pointer_64": sys.maxsize > 2 ** 32,
    "markers": {
        "implementation_name": impl.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": "%d.%d" % sys.version_info[:2],
        "sys_platform": sys.platform,
    },
}))
