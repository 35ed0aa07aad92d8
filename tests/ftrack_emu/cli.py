# SPDX-License-Identifier: Apache-2.0
"""The command line: parse the flags, serve until SIGTERM/SIGINT, save."""

import argparse
import signal
import sys
import threading

from .emulator import Emulator
from .server import Handler, Server


def make_parser():
    p = argparse.ArgumentParser(description="ftrack server emulator for tests")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--api-user", default="ftrack-sync",
                   help="the API account (created active if missing)")
    p.add_argument("--api-key", default=None,
                   help="personal API key of --api-user")
    p.add_argument("--global-key", default=None,
                   help="a global API key, valid for any active user")
    p.add_argument("--state", default=None,
                   help="JSON file: loaded at start, saved at exit")
    p.add_argument("--latency-ms", type=int, default=0,
                   help="sleep before answering each /api request")
    p.add_argument("--page-max", type=int, default=None,
                   help="clamp every query limit to N")
    p.add_argument("--seat-cap", type=int, default=None,
                   help="at most N active users")
    p.add_argument("--seat-cap-exception", default=None, metavar="NAME",
                   help="refuse a write past --seat-cap with exception NAME "
                   "(default: keep is_active false silently)")
    p.add_argument("--write-answers", default="full", choices=("full", "id"),
                   help="create/update answers: the entity, or only its id")
    p.add_argument("--strict-default", action="store_true",
                   help="strict error statuses when the ftrack-strict-api "
                   "header is absent")
    p.add_argument("--omit-nulls", action="store_true",
                   help="omit null attributes from query results")
    p.add_argument("--case-insensitive", action="store_true",
                   help="compare strings case-insensitively (is, in, like, "
                   "unique username)")
    p.add_argument("--no-unique-usernames", action="store_true",
                   help="accept a second User with an existing username "
                   "(the id, the primary key, stays unique)")
    p.add_argument("--default-role", default=None, metavar="NAME",
                   help="the security role a User created through the API "
                   "gets (default: none)")
    p.add_argument("--server-version", default="4.13.9",
                   help='version reported (e.g. "dev")')
    p.add_argument("--schemas", default=None,
                   help="JSON list of extra or replacement schemas")
    p.add_argument("--verbose", action="store_true",
                   help="log requests on stderr")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    if not args.api_key and not args.global_key:
        sys.stderr.write(
            "ftrack_emulator: give --api-key and/or --global-key\n")
        return 2
    if args.page_max is not None and args.page_max < 1:
        sys.stderr.write("ftrack_emulator: --page-max must be >= 1\n")
        return 2
    emu = Emulator(args)
    server = Server(("127.0.0.1", args.port), Handler)
    server.emulator = emu
    port = server.server_address[1]
    sys.stdout.write("listening on http://127.0.0.1:%d\n" % port)
    sys.stdout.flush()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if emu.state_path:
        try:
            emu.save_state()
        except OSError as exc:
            sys.stderr.write("ftrack_emulator: cannot save state: %s\n" % exc)
            return 1
    return 0
