"""The caller's side of tests/helpers/awsCliServer.py: `awsCliClient.py SOCKET ARGS...` is `aws ARGS...`.

It hands the server its stdin, stdout and stderr, argv, environment, working directory, umask,
ignored signals, rlimits, groups and niceness; sends on the signals it receives; and exits as
the call did: with its status, or by the same signal. Where the server cannot be reached (not
started, gone) or refuses the call (it could not become this caller: see the server), it
execs /usr/bin/aws itself, so a call never fails for the shortcut's sake and never runs twice:
a call the server started and then lost ends with 255, as a CLI that crashed.
"""
# Only modules written in C (built into the interpreter, or resource's extension): the client
# starts once per call, and json, signal and socket (with the enum, re and selectors modules they
# import) cost more than the rest of it.
import _signal as signal
import _socket as socket
import os
import resource
import sys
from _struct import pack, unpack

REAL_AWS = '/usr/bin/aws'
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)
# Every limit this interpreter knows; the server (the same /usr/bin/python3) lists the same ones.
LIMITS = sorted(name for name in dir(resource) if name.startswith('RLIMIT_'))


def direct(args):
    os.execv(REAL_AWS, [REAL_AWS] + args)


def main():
    sock_path, args = sys.argv[1], sys.argv[2:]
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)  # a closed standard descriptor: the direct path handles it as the CLI would
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(sock_path)
    except OSError:
        direct(args)
    umask = os.umask(0)
    os.umask(umask)
    # What the caller inherited as ignored stays ignored in the call (nohup, trap '' TERM, `cmd &`).
    ignored = [s for s in FORWARDED if signal.getsignal(s) == signal.SIG_IGN]
    request = {
        'argv': args,
        'env': dict(os.environ),
        'cwd': os.getcwd(),
        'umask': umask,
        'ignored': ignored,
        'limits': {name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS},
        'groups': sorted(os.getgroups()),
        'nice': os.nice(0),
        'blocked': sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    }
    # A Python literal of str, int and list values (the server reads it with ast.literal_eval);
    # repr writes an environment value's surrogate escapes (bytes that are not UTF-8) as \udcXX.
    body = repr(request).encode('utf-8')

    # Signals that arrive before the call runs are held: sent on once it runs, or, if it is
    # refused, raised here again before anything else happens.
    state = {'started': False, 'pending': []}

    def forward(sig, _frame):
        if not state['started']:
            state['pending'].append(sig)
            return
        try:
            sock.send(bytes([sig]))
        except OSError:
            pass

    for sig in FORWARDED:
        if sig not in ignored:
            signal.signal(sig, forward)

    def refused():
        for sig in FORWARDED:
            if sig not in ignored:
                signal.signal(sig, signal.SIG_DFL)
        for sig in state['pending']:
            os.kill(os.getpid(), sig)
        direct(args)

    try:
        sock.sendmsg([pack('!I', len(body)) + body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, pack('3i', 0, 1, 2))])
    except OSError:  # the server closed before reading it all: it never forks for such a request
        refused()
    # 'R' once the call runs, 'N' if the server will not run it; then the call's wait status.
    try:
        first = sock.recv(1)
    except OSError:
        first = b''
    if first == b'N':
        refused()
    if first != b'R':
        sys.stderr.write('awsCliClient: the warm AWS CLI server went away before saying whether it ran the call\n')
        sys.exit(255)
    state['started'] = True
    for sig in state['pending']:
        forward(sig, None)
    got = b''
    while len(got) < 4:
        chunk = sock.recv(4 - len(got))
        if not chunk:
            sys.stderr.write('awsCliClient: the warm AWS CLI server went away during the call\n')
            sys.exit(255)
        got += chunk
    (status,) = unpack('!i', got)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        sys.exit(128 + sig)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 255)


main()
