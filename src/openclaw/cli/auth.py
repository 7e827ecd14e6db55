"""`openclaw auth`: add, list and remove stored API keys (auth profiles).

Profiles live in `<state>/agents/main/agent/auth-profiles.json` (mode 0600), the original
OpenClaw's layout. A provider's key is taken from the config's `apiKey` first, then a profile,
then the provider's environment variable.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from openclaw.paths import state_dir

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  openclaw auth add --provider ollama --key ollama-local
  printf %s "$ANTHROPIC_API_KEY" | openclaw auth add --provider anthropic --key -
  openclaw auth list
  openclaw auth remove --provider ollama
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw auth",
        description="Manage stored API keys (auth profiles) in the state directory.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="store a key for a provider")
    add.add_argument(
        "--provider", required=True, help="provider id, e.g. ollama, anthropic, ollama-gpu"
    )
    add.add_argument(
        "--key",
        help="the key; `-` reads it from stdin (keeps it out of shell history); "
        "prompted for when left out on a terminal",
    )
    add.add_argument("--profile", default="default", help="profile name (default: default)")

    actions.add_parser("list", help="list stored profiles (keys redacted)")

    remove = actions.add_parser("remove", help="remove a provider's stored keys")
    remove.add_argument("--provider", required=True)
    remove.add_argument(
        "--profile", help="remove only this profile (default: all of the provider's)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    state = state_dir()
    if args.action == "add":
        return _add(state, args.provider, args.key, args.profile)
    if args.action == "remove":
        return _remove(state, args.provider, args.profile)
    return _list(state)


def _add(state: Path, provider: str, key: str | None, profile: str) -> int:
    from openclaw.auth import add_profile, profiles_path, redact
    from openclaw.errors import UserError

    if key == "-":
        key = sys.stdin.read()
    elif key is None:
        if not sys.stdin.isatty():
            raise UserError("no key given: pass --key KEY, or --key - to read it from stdin")
        key = getpass.getpass(f"API key for {provider}: ")
    add_profile(state, provider, key, name=profile)
    print(f"stored {provider}:{profile} ({redact(key.strip())}) in {profiles_path(state)}")
    return 0


def _list(state: Path) -> int:
    from openclaw.auth import ENV_VARS, load_profiles, profiles_path, redact

    path = profiles_path(state)
    profiles = load_profiles(state)
    if profiles:
        rows = [("PROFILE", "PROVIDER", "TYPE", "KEY")]
        rows += [
            (p.id, p.provider, p.type, redact(p.key) if p.key else "-")
            for p in sorted(profiles.values(), key=lambda p: p.id)
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            print(
                "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
            )
        print(f"\nstored in {path}")
    else:
        print(f"no auth profiles in {path}")
        print("add one: openclaw auth add --provider ollama --key ollama-local")
    found = [(p, v) for p, v in ENV_VARS.items() if os.environ.get(v)]
    if found:
        print("\nfrom the environment:")
        for provider, variable in found:
            print(f"  {variable} ({provider}): {redact(os.environ[variable])}")
    return 0


def _remove(state: Path, provider: str, profile: str | None) -> int:
    from openclaw.auth import load_profiles, remove_profile
    from openclaw.errors import NotFoundError

    if not remove_profile(state, provider, name=profile):
        known = ", ".join(sorted(load_profiles(state))) or "none"
        wanted = f"{provider}:{profile}" if profile else f"for {provider}"
        raise NotFoundError(f"no auth profile {wanted} (stored profiles: {known})")
    which = f"{provider}:{profile}" if profile else f"all profiles for {provider}"
    print(f"removed {which}")
    return 0
