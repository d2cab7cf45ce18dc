"""A warm AWS CLI v2 for the tests: the real CLI (Debian's awscli, /usr/bin/aws) forked per call.

Starting /usr/bin/aws costs about 0.6 s of CPU, most of it Python importing the CLI and
botocore; the scripts under test make hundreds of calls. This server imports the CLI's
modules once (the same interpreter and files /usr/bin/aws uses) and, for each call that
tests/helpers/awsCliClient.py hands it, forks a child that becomes that call: the caller's own
stdin, stdout and stderr (passed over the socket, SCM_RIGHTS), its argv, environment, working
directory and umask; then it runs what /usr/bin/aws runs, `awscli.clidriver.main()`. The child's
exit status, or the signal that ended it, goes back to the client, which exits the same way.
A signal the client gets is sent on to the child; a client that is gone (SIGKILL) takes its
child with it, and a call dies with the server (PR_SET_PDEATHSIG). A caller the fork could not
faithfully become is refused before anything runs, and its client runs /usr/bin/aws itself:
another uid, gid or groups (SO_PEERCRED), another net, pid, user, uts, ipc, cgroup or time
namespace or another root directory (/proc/PID/ns, /proc/PID/root), another HOME or PYTHON* settings
(read at import or interpreter start), a locale that is not UTF-8 or C, other rlimits, niceness
or blocked signals.

A caller in a mount namespace of its own (and no other: a test's `unshare --mount` with its own
bind mounts, as the boot-script tests run their scripts) is served: its call joins that
namespace (setns(2)) before it resolves any path, so that it reads and writes the caller's files.
Unless the caller's view of what the server runs as code differs from the server's (see
CODE_FILES): a module file, the interpreter, a shared library or /usr/bin/aws that is another
file there, or a module that would be found first on the module path; or unless the server
cannot join mount namespaces (not root, no openat2): then it is refused as above.

Redone per call from the caller's state: the mount namespace, awscli/__init__.py's import-time
AWS_DATA_PATH, the interpreter's C-locale coercion, standard streams and signal dispositions
(inherited ignores kept), the time zone. Not carried over: the controlling terminal and session
(the tests have none), the cgroup; and what the server's imports read once from files other
than their code, as it found them (OpenSSL's configuration, awscrt's default CA locations, the
distribution in the User-Agent), and what the interpreter's start did with the site directories'
.pth files (a caller's namespace that hides one, as the boot-script tests' empty /usr/local does,
is still served: the entries compared are modules, not .pth files).

A call ends as the interpreter ends a script that raised SystemExit (Py_FinalizeEx): the
non-daemon threads are joined, the atexit functions run, stdout and stderr are flushed (a failed
flush is reported as "Exception ignored in: ..." and makes the status 120), and so is every file
the call left open; then the process exits without tearing the interpreter down. The teardown
would free the imported modules one by one, which in a forked child writes to (and so copies)
most of the server's pages: about 0.05 s of CPU per call, a quarter of its cost, for nothing a
caller can see.
tests/awsCliServer.test.ts runs the same commands both ways and compares what the shell sees.

Usage: python3 awsCliServer.py SOCKET CPU_FILE
Prints "ready" when listening. After each call it writes the CPU seconds its calls have used so
far to CPU_FILE (the test process counts them as its own children's). When stdin closes (the
test process is gone) it kills what still runs, removes SOCKET, CPU_FILE and their directory
if that is then empty, and exits.
"""
import ast
import atexit
import ctypes
import gc
import importlib
import importlib.machinery
import io
import os
import pkgutil
import resource
import selectors
import signal
import socket
import stat
import struct
import sys
import threading
import time
import traceback
import types

import awscli  # noqa: E402  (before clidriver, as /usr/bin/aws does)
import awscli.clidriver
import botocore.loaders  # the module the CLI uses (awscli.botocore is another module object of the same file)

# Everything a call might import, imported now: a child then only runs the command.
for _module in pkgutil.walk_packages(awscli.__path__, 'awscli.'):
    if _module.name == 'awscli.testutils':
        continue
    try:
        importlib.import_module(_module.name)
    except BaseException:  # an optional dependency this machine lacks: the call will say so itself
        pass
AWSCLI_DATA = os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), 'data')


# Read once here rather than by every call: the data files a call parses (the models of the
# services the tests call, botocore's endpoints and partitions, the CLI's own cli.json) and the
# list of services botocore finds by walking its data directories (some 350 directories, for each
# of four file types). A call gets what it would have read itself:
# - a file is handed out as parsed here, the first time a call loads it and only while the path
#   is the file read here (its device and inode: not another file bind-mounted over it in a
#   caller's mount namespace) with the same size and mtime (a call's own copy: the fork copies
#   what it changes); a second load in the same call parses the file again, as botocore would;
# - a service list is handed out (as a new list) for the same search locations and type, while
#   every location is the directory seen here, with the same mtime (a service directory added
#   since changes it).
# A call stats them as it runs, in the caller's mount namespace if it joined one (see why_not).
class _Preloaded:
    files = {}  # full path -> (stat key, data)
    services = {}  # (locations, type name) -> (stat keys, sorted names)
    handed = set()


def _file_key(st):
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _stat_key(path):
    return _file_key(os.stat(path))


_load_file = botocore.loaders.JSONFileLoader.load_file
_list_available_services = botocore.loaders.Loader.list_available_services


def _preloaded_load_file(self, file_path):
    full_path = file_path + '.json'
    entry = _Preloaded.files.get(full_path)
    if entry is not None and full_path not in _Preloaded.handed:
        try:
            fresh = _stat_key(full_path) == entry[0]
        except OSError:
            fresh = False
        if fresh:
            _Preloaded.handed.add(full_path)
            botocore.loaders.logger.debug("Loading JSON file: %s", full_path)
            return entry[1]
    return _load_file(self, file_path)


def _preloaded_list_available_services(self, type_name):
    if type(self.file_loader) is botocore.loaders.JSONFileLoader:
        locations = tuple(self._potential_locations())
        entry = _Preloaded.services.get((locations, type_name))
        if entry is not None:
            try:
                if tuple(_stat_key(p) for p in locations) == entry[0]:
                    return list(entry[1])
            except OSError:
                pass
    return _list_available_services(self, type_name=type_name)


def _preload():
    loader = botocore.loaders.Loader(extra_search_paths=[AWSCLI_DATA])
    for type_name in ('service-2', 'endpoint-rule-set-1', 'paginators-1', 'waiters-2'):
        locations = tuple(loader._potential_locations())
        keys = tuple(_stat_key(p) for p in locations)
        _Preloaded.services[(locations, type_name)] = (keys, tuple(_list_available_services(loader, type_name=type_name)))
    data_dir = botocore.loaders.Loader.BUILTIN_DATA_PATH
    paths = [os.path.join(d, name) for d in (data_dir, AWSCLI_DATA) for name in os.listdir(d) if name.endswith('.json')]
    for service in ('s3', 'cloudwatch', 'sts', 'ssm', 'iam'):
        version = loader.determine_latest_version(service, 'service-2')
        version_dir = os.path.join(data_dir, service, version)
        paths += [os.path.join(version_dir, name) for name in os.listdir(version_dir) if name.endswith('.json')]
    json_loader = botocore.loaders.JSONFileLoader()
    for path in paths:
        key = _stat_key(path)
        _Preloaded.files[path] = (key, _load_file(json_loader, path[:-len('.json')]))


_preload()
botocore.loaders.JSONFileLoader.load_file = _preloaded_load_file
botocore.loaders.Loader.list_available_services = _preloaded_list_available_services


# Worked out once here rather than by every call, from what does not change while the tests run:
# - the Linux distribution in the CLI's User-Agent (awscli.clidriver._get_linux_distribution):
#   the `distro` module reads /etc/os-release and runs `lsb_release -a` (a shell script that
#   forks a dozen times) twice per call, and caches what it found in its module-level instance;
# - whether each of the CLI's functions takes **kwargs (botocore.compat.accepts_kwargs, which the
#   event system asks of every one of the ~350 handlers a call registers, through inspect): a
#   function's parameters are fixed when it is defined (unless its __code__ or __signature__ is
#   reassigned, which none of the CLI's modules does), so the answer is remembered per plain
#   function (a bound method's is its function's; anything else is asked each time) and worked
#   out here for every function the CLI's modules define. A function made during a call is
#   worked out in that call, as before.
def _accepts_kwargs_memoized(original):
    memo = {}

    def accepts_kwargs(func):
        key = func.__func__ if type(func) is types.MethodType else func
        if type(key) is not types.FunctionType:
            return original(func)
        try:
            return memo[key]
        except KeyError:
            memo[key] = result = original(key)
            return result

    for name, module in list(sys.modules.items()):
        if module is None or name.split('.')[0] not in ('awscli', 'botocore', 's3transfer'):
            continue
        for value in list(vars(module).values()):
            for candidate in [value, *(vars(value).values() if isinstance(value, type) else ())]:
                if type(candidate) is types.FunctionType:
                    try:
                        accepts_kwargs(candidate)
                    except Exception:  # not introspectable: a call that asks gets the error itself
                        pass
    return accepts_kwargs


def _settle_per_machine_facts():
    import botocore.compat
    import botocore.hooks
    import distro
    import s3transfer.compat
    import s3transfer.subscribers

    distro.id()
    distro.major_version()
    # Both packages' own functions (the same getfullargspec(func)[2]), taken before any is replaced.
    originals = (botocore.compat.accepts_kwargs, s3transfer.compat.accepts_kwargs)
    memoized = _accepts_kwargs_memoized(originals[0])
    for module in (botocore.compat, botocore.hooks, s3transfer.compat, s3transfer.subscribers):
        if getattr(module, 'accepts_kwargs', None) in originals:
            module.accepts_kwargs = memoized


_settle_per_machine_facts()


# A caller that differs from this server only in its mount namespace (a test's `unshare --mount`
# with its own bind mounts) is served by a call that joins that namespace (setns(2), before it
# touches any path), so that every path it opens is the caller's. Only while what /usr/bin/aws
# would run there is what this server imported, compared as the caller's namespace resolves each
# path (openat2(2) RESOLVE_IN_ROOT from /proc/PID/root: an absolute symlink resolves in the
# caller's view, not this server's):
# - CODE_FILES: every imported module's file, every file mapped into this process (the
#   interpreter, its shared libraries, the extension modules), /usr/bin/aws and /usr/bin/python3:
#   the same file (device, inode, size, mtime);
# - CODE_DIRS: the directories on /usr/bin/aws's module path (/usr/bin, the script's, first; the
#   user site): the same entries that could be a module of one of the imported top-level names
#   (one added to an earlier directory would shadow it; a directory that is missing has none),
#   or the same file where it is not a directory (a zip archive).
# Debian's sitecustomize (python3.11/sitecustomize.py, a link into /etc: the boot-script tests'
# /etc is empty) may be missing in the caller's view when this server's defined nothing: the
# interpreter there imports none, which is what this server's came to (no apport hook installed).
CLONE_NEWNS = 0x00020000
SYS_openat2 = 437  # one number on every architecture (as every system call from 424 on)
RESOLVE_IN_ROOT = 0x10
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)


class _OpenHow(ctypes.Structure):
    _fields_ = [('flags', ctypes.c_uint64), ('mode', ctypes.c_uint64), ('resolve', ctypes.c_uint64)]


def _open_in_root(root_fd, path, flags):
    """open(2) of `path` as a process whose root directory is `root_fd` resolves it."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT)
    fd = _syscall(SYS_openat2, root_fd, os.fsencode(path).lstrip(b'/') or b'.', ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return fd


def _code_files():
    paths = {'/usr/bin/aws', '/usr/bin/python3'}
    for module in list(sys.modules.values()):
        file = getattr(module, '__file__', None)
        if isinstance(file, str) and os.path.isabs(file):
            paths.add(file)
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.rstrip('\n').split(None, 5)
            if len(fields) == 6 and fields[4] != '0' and fields[5].startswith('/') and not fields[5].startswith('/dev/') and not fields[5].endswith(' (deleted)'):
                paths.add(fields[5])
    return tuple(sorted(paths))


def _code_dirs():
    import site

    dirs = ['/usr/bin']  # /usr/bin/aws's sys.path[0]; this server's is its own directory, or ''
    for d in sys.path[1:] + [site.getusersitepackages()]:
        if isinstance(d, str) and os.path.isabs(d) and d not in dirs:
            dirs.append(d)
    return tuple(dirs)


CODE_FILES = _code_files()
CODE_DIRS = _code_dirs()
_TOP_LEVEL = frozenset(name.partition('.')[0] for name in sys.modules) | {'sitecustomize', 'usercustomize'}
_SUFFIXES = tuple(importlib.machinery.all_suffixes())
_sitecustomize = sys.modules.get('sitecustomize')
MAY_BE_MISSING = frozenset(
    [_sitecustomize.__file__] if _sitecustomize is not None and getattr(_sitecustomize, '__file__', None) and all(k.startswith('__') for k in vars(_sitecustomize)) else []
)


def _path_key(root_fd, path):
    try:
        fd = _open_in_root(root_fd, path, os.O_PATH)
    except OSError:
        return None
    try:
        return _file_key(os.fstat(fd))
    finally:
        os.close(fd)


def _dir_key(root_fd, path):
    try:
        fd = _open_in_root(root_fd, path, os.O_PATH)
    except OSError:  # as good as a directory without such entries: no module comes from it
        return frozenset()
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):
            return _file_key(st)
        # Reopened through the descriptor, not the path: the directory just resolved.
        dir_fd = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    finally:
        os.close(fd)
    try:
        entries = os.listdir(dir_fd)
    finally:
        os.close(dir_fd)
    return frozenset(e for e in entries if e.partition('.')[0] in _TOP_LEVEL and (e.partition('.')[0] == e or e.endswith(_SUFFIXES)))


def code_view(root_fd):
    """CODE_FILES' keys (None: missing) and CODE_DIRS' entries as a process with this root directory sees them."""
    return tuple(_path_key(root_fd, p) for p in CODE_FILES), tuple(_dir_key(root_fd, d) for d in CODE_DIRS)


def _can_join_mount_namespaces():
    """Whether a forked call can setns(2) into another mount namespace, tried once in a child.

    Joining this server's own needs what joining a caller's does (CAP_SYS_ADMIN and
    CAP_SYS_CHROOT, and no seccomp or LSM rule against it); the caller's is owned by the same
    user namespace (why_not). A call that fails anyway says so and exits 255.
    """
    try:
        fd = os.open('/proc/self/ns/mnt', os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _libc.setns(fd, CLONE_NEWNS) == 0 else 1)
    os.close(fd)
    return os.waitpid(pid, 0)[1] == 0


def _server_view():
    if not _can_join_mount_namespaces():
        return None
    try:
        root_fd = os.open('/', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.close(_open_in_root(root_fd, '/', os.O_PATH))
            return code_view(root_fd)
        finally:
            os.close(root_fd)
    except OSError:  # no openat2 (Linux before 5.6): such callers are refused
        return None


SERVER_VIEW = _server_view()  # None: callers in another mount namespace are refused
gc.freeze()  # children share these pages instead of copying them at their first collection
MAX_REQUEST = 4 << 20
# As awsCliClient.py lists them: every limit the interpreter knows.
LIMITS = sorted(name for name in dir(resource) if name.startswith('RLIMIT_'))


FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)
PR_SET_PDEATHSIG = 1


def effective_ctype(env):
    """The LC_CTYPE locale name a process started with `env` gets (POSIX precedence)."""
    for name in ('LC_ALL', 'LC_CTYPE', 'LANG'):
        if env.get(name):
            return env[name]
    return 'C'


def is_c_locale(name):
    return name in ('C', 'POSIX')


def become_call(fds, request, close_server, server_pid):
    """In the forked child: take on the caller's process state, then run the CLI; never returns."""
    # The call does not outlive the server (a test that replaces or stops it): nobody would
    # report its status, and its client already exited 255.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server_pid:
        os._exit(255)
    # A caller in its own mount namespace: joined before anything resolves a path. This resets
    # the root and working directories to the namespace's root (the caller's root, why_not); the
    # caller's working directory is taken on below. (A forked child shares no CLONE_FS, as setns
    # requires.)
    mnt_fd = request.get('mnt_fd')
    if mnt_fd is not None:
        if _libc.setns(mnt_fd, CLONE_NEWNS) != 0:
            err = ctypes.get_errno()
            os.write(fds[2], ("awsCliServer: could not join the caller's mount namespace: %s\n" % os.strerror(err)).encode())
            os._exit(255)
        os.close(mnt_fd)
    # Only the server's own descriptors are closed: the libraries imported at start keep some of
    # their own open (awscrt's random source), and a closed one hangs them.
    close_server()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # Signal dispositions as the interpreter sets them at start: inherited ignores stay ignored,
    # SIGINT raises KeyboardInterrupt, the rest are default.
    for sig in FORWARDED + (signal.SIGCHLD,):
        signal.signal(sig, signal.SIG_IGN if int(sig) in request['ignored'] else signal.SIG_DFL)
    if int(signal.SIGINT) not in request['ignored']:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request['env'])
    # The interpreter's own start-up: C-locale coercion (PEP 538), and the time zone.
    if not os.environ.get('LC_ALL') and is_c_locale(effective_ctype(os.environ)) and os.environ.get('PYTHONCOERCECLOCALE') != '0':
        os.environ['LC_CTYPE'] = 'C.UTF-8'
    time.tzset()
    # awscli/__init__.py, at import: its data directory after the caller's AWS_DATA_PATH.
    data_path = []
    if 'AWS_DATA_PATH' in os.environ:
        data_path = [os.path.expanduser(os.path.expandvars(p)) for p in os.environ['AWS_DATA_PATH'].split(os.pathsep)]
    data_path.append(AWSCLI_DATA)
    os.environ['AWS_DATA_PATH'] = os.pathsep.join(data_path)
    # /usr/bin/aws itself
    if os.environ.get('LC_CTYPE', '') == 'UTF-8':
        os.environ['LC_CTYPE'] = 'en_US.UTF-8'
    os.chdir(request['cwd'])
    os.umask(request['umask'])
    sys.path[0] = '/usr/bin'  # the script's directory, as for /usr/bin/aws
    # Standard streams as the interpreter makes them at start-up for this caller's locale (a
    # UTF-8 one: other callers are refused): surrogateescape in the C locale (UTF-8 mode), else strict.
    errors = 'surrogateescape' if is_c_locale(request['ctype']) else 'strict'
    # /usr/bin/aws's interpreter line has no -u: PYTHONUNBUFFERED alone decides.
    buffered = not os.environ.get('PYTHONUNBUFFERED')
    sys.stdin = standard_stream(0, 'r', errors, buffered)
    sys.stdout = standard_stream(1, 'w', errors, buffered)
    sys.stderr = standard_stream(2, 'w', 'backslashreplace', buffered)
    sys.argv = ['/usr/bin/aws'] + request['argv']
    try:
        code = awscli.clidriver.main()
    except SystemExit as exc:
        code = exc.code
    exit_as_interpreter(code)


def standard_stream(fd, mode, errors, buffered):
    """sys.stdin, stdout or stderr as the interpreter's create_stdio makes it (Python/pylifecycle.c).

    Unbuffered (PYTHONUNBUFFERED set) makes stdout and stderr write straight through; else stderr
    and a terminal are line buffered. Named '<stdout>' etc., with its mode, as messages about it
    print it.
    """
    buffering = 0 if (not buffered and mode == 'w') else -1
    buf = io.open(fd, mode + 'b', buffering, closefd=False)
    raw = buf if buffering == 0 else buf.raw
    raw.name = {0: '<stdin>', 1: '<stdout>', 2: '<stderr>'}[fd]
    line_buffering = buffered and (fd == 2 or raw.isatty())
    stream = io.TextIOWrapper(buf, encoding='utf-8', errors=errors, newline='\n', line_buffering=line_buffering, write_through=not buffered)
    stream.mode = mode
    return stream


def exit_as_interpreter(code):
    """What the interpreter does after `sys.exit(code)` that a caller can see (see the docstring)."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        sys.stderr.write('%s\n' % (code,))
        status = 1
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except Exception as exc:
            if stream is sys.stdout:
                # As PyErr_WriteUnraisable prints it (the default sys.unraisablehook, no traceback).
                sys.stderr.write('Exception ignored in: %r\n%s' % (stream, ''.join(traceback.format_exception_only(type(exc), exc))))
            status = 120
    # Files the call opened and left open are flushed when the teardown frees them. Only this
    # process's own objects: the server's are in gc's permanent generation, which get_objects skips.
    for obj in gc.get_objects():
        # By type, not isinstance: a weak proxy to a collected object raises on isinstance. Nothing
        # here may change how the call ends: the teardown ignores what fails there too.
        try:
            if issubclass(type(obj), io.IOBase) and obj is not sys.stdout and obj is not sys.stderr:
                if not obj.closed and obj.writable():
                    obj.flush()
        except Exception:
            pass
    os._exit(status)


# Every kind this kernel has (time: Linux 5.6 and later).
NAMESPACES = tuple(n for n in ('mnt', 'net', 'pid', 'user', 'uts', 'ipc', 'cgroup', 'time') if os.path.exists(f'/proc/self/ns/{n}'))


def process_context(pid='self'):
    """A process's namespaces and root directory: a fork of this server joins a caller's mount
    namespace (why_not), and can take on none of the others, nor another root."""
    ctx = {n: os.stat(f'/proc/{pid}/ns/{n}').st_ino for n in NAMESPACES}
    ctx['root'] = os.readlink(f'/proc/{pid}/root')
    return ctx


SERVER_CONTEXT = process_context()


SERVER_LIMITS = {name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS}


def why_not(request, creds):
    """Why a fork of this server would not be the process the caller would start, or None.

    For a caller in another mount namespace (and no other), None leaves request['mnt_fd'] open
    on it, for the call to join (become_call); the server closes it once the call is forked.
    """
    pid, uid, gid = creds
    request.pop('mnt_fd', None)  # the server's own, never the client's
    if uid != os.getuid() or gid != os.getgid() or request.get('groups') != sorted(os.getgroups()):
        return 'another user or group'
    try:
        context = process_context(pid)
    except OSError:
        return 'its context cannot be read'
    if any(context[k] != SERVER_CONTEXT[k] for k in context if k != 'mnt'):
        return 'another namespace (net, pid, user, uts, ipc, cgroup or time) or root directory'
    env = request['env']
    # Read by the CLI's modules at import (the assume-role and SSO caches, history, autocomplete)
    # and by the interpreter at start (PYTHON*): the server's values are the ones in force.
    if env.get('HOME') != os.environ.get('HOME'):
        return 'another HOME'
    mine = {k: v for k, v in os.environ.items() if k.startswith('PYTHON')}
    if {k: v for k, v in env.items() if k.startswith('PYTHON')} != mine:
        return 'other PYTHON* settings'
    ctype = effective_ctype(env)
    if not is_c_locale(ctype) and not ctype.lower().replace('-', '').endswith('.utf8'):
        return 'a locale that is not UTF-8'
    request['ctype'] = ctype
    if request.get('limits') != SERVER_LIMITS or request.get('nice') != os.nice(0) or request.get('blocked') != []:
        return 'other rlimits, niceness or blocked signals'
    if context['mnt'] != SERVER_CONTEXT['mnt']:
        return prepare_to_join(pid, context['mnt'], request)
    return None


def prepare_to_join(pid, mnt_inode, request):
    """For a caller in another mount namespace: why its call cannot join it, or None (and request['mnt_fd']).

    Opened here, while the caller waits for the answer (alive, so its pid is its own); refused
    where this server cannot join mount namespaces, or where the caller's view of the files
    this server runs as code differs (CODE_FILES, CODE_DIRS).
    """
    if SERVER_VIEW is None:
        return 'another mount namespace, which this server cannot join'
    try:
        mnt_fd = os.open(f'/proc/{pid}/ns/mnt', os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return 'its mount namespace cannot be opened'
    try:
        root_fd = os.open(f'/proc/{pid}/root', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if os.fstat(mnt_fd).st_ino != mnt_inode:
                reason = 'its mount namespace changed'
            else:
                reason = view_differs(root_fd)
        finally:
            os.close(root_fd)
    except OSError:
        reason = 'its root directory cannot be opened'
    if reason is not None:
        os.close(mnt_fd)
        return reason
    request['mnt_fd'] = mnt_fd
    return None


def view_differs(root_fd):
    """How the files this server runs as code differ as seen from `root_fd`, or None."""
    files, dirs = code_view(root_fd)
    for path, mine, theirs in zip(CODE_FILES, SERVER_VIEW[0], files):
        if theirs != mine and not (theirs is None and path in MAY_BE_MISSING):
            return f'another view of the imported files ({path})'
    for path, mine, theirs in zip(CODE_DIRS, SERVER_VIEW[1], dirs):
        if theirs != mine:
            return f'another view of the module path ({path})'
    return None


def read_request(conn):
    """The caller's three descriptors, its request and why it cannot be served here (or None).

    A caller of another uid or gid, in another net, pid, user, uts, ipc, cgroup or time namespace
    or root directory, with another HOME, PYTHON* settings, rlimits or niceness, is refused before
    anything runs, and its client runs /usr/bin/aws itself: a fork of this server would not be
    that process. So is one in another mount namespace whose view of the server's code differs
    (prepare_to_join); any other in another mount namespace is served, its call joining it.
    The whole request is read first, so that the refusal reaches the client rather than a reset.
    """
    creds = struct.unpack('3i', conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))
    conn.settimeout(5)  # a stalled client must not hold up the other calls
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3 or len(msg) < 4:
        for fd in fds:
            os.close(fd)
        return None
    (length,) = struct.unpack('!I', msg[:4])
    body = msg[4:]
    while len(body) < length <= MAX_REQUEST:
        chunk = conn.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) != length:
        for fd in fds:
            os.close(fd)
        return None
    conn.settimeout(None)
    try:
        request = ast.literal_eval(body.decode('utf-8'))
        if 'limits' in request:
            request['limits'] = {k: list(v) for k, v in request['limits'].items()}
        reason = why_not(request, creds)
    except Exception:  # not a request this server understands: the client runs /usr/bin/aws itself
        request, reason = None, 'an unreadable request'
    if reason is not None:
        for fd in fds:
            os.close(fd)
    return fds, request, reason


def main():
    path, cpu_file = sys.argv[1], sys.argv[2]
    server_pid = os.getpid()
    calls_cpu = 0.0
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(128)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, ('accept', None))
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, ('parent', None))
    calls = {}
    print('ready', flush=True)
    while True:
        for key, _ in sel.select():
            kind, call = key.data
            if kind == 'parent':
                if os.read(sys.stdin.fileno(), 4096):
                    continue
                # The test process is gone: so are its calls.
                for c in calls.values():
                    try:
                        os.kill(c['pid'], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                for leftover in (path, cpu_file):
                    try:
                        os.unlink(leftover)
                    except OSError:
                        pass
                try:
                    os.rmdir(os.path.dirname(path))
                except OSError:
                    pass
                return
            if kind == 'accept':
                conn, _ = listener.accept()
                try:
                    got = read_request(conn)
                except (OSError, ValueError, SyntaxError):
                    got = None
                if got is None:
                    conn.close()
                    continue
                fds, request, reason = got
                if reason is not None:
                    try:
                        conn.sendall(b'N')
                    except OSError:
                        pass
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    try:
                        def close_server():
                            sel.close()
                            listener.close()
                            conn.close()
                            for c in calls.values():
                                c['conn'].close()
                                os.close(c['pidfd'])
                        become_call(fds, request, close_server, server_pid)
                    except SystemExit:
                        raise  # the CLI's exit: the interpreter shuts down as after /usr/bin/aws
                    except BaseException:
                        traceback.print_exc()
                        os._exit(255)
                for fd in fds:
                    os.close(fd)
                if 'mnt_fd' in request:
                    os.close(request['mnt_fd'])
                try:
                    conn.sendall(b'R')
                except OSError:
                    pass
                call = {'pid': pid, 'conn': conn, 'pidfd': os.pidfd_open(pid)}
                calls[pid] = call
                sel.register(conn, selectors.EVENT_READ, ('client', call))
                sel.register(call['pidfd'], selectors.EVENT_READ, ('exit', call))
            elif kind == 'client':
                try:
                    data = call['conn'].recv(64)
                except OSError:
                    data = b''
                if not data:  # the client was killed: its call goes with it
                    sel.unregister(call['conn'])
                    try:
                        os.kill(call['pid'], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    continue
                for sig in data:  # signals the client received, one byte each
                    try:
                        os.kill(call['pid'], sig)
                    except ProcessLookupError:
                        pass
            elif kind == 'exit':
                _, status, usage = os.wait4(call['pid'], 0)
                calls_cpu += usage.ru_utime + usage.ru_stime
                with open(cpu_file + '.new', 'w') as f:
                    f.write('%.3f\n' % calls_cpu)
                os.replace(cpu_file + '.new', cpu_file)
                sel.unregister(call['pidfd'])
                os.close(call['pidfd'])
                del calls[call['pid']]
                try:
                    sel.unregister(call['conn'])
                except KeyError:
                    pass
                try:
                    call['conn'].sendall(struct.pack('!i', status))
                except OSError:
                    pass
                call['conn'].close()


if __name__ == '__main__':
    main()
