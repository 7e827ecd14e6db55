"""`openclaw doctor`: find what is wrong with the setup and print the command that fixes it."""

from __future__ import annotations

import argparse

from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.cli.render import print_json
from openclaw.errors import ConfigError

__all__ = ["build_parser", "main"]

MARK = {"error": "✗", "warning": "!", "info": "·"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw doctor", description="Check the setup; exit 1 when something is wrong."
    )
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from openclaw.runtime.diagnose import Finding, diagnose

    async def action(setup: Setup) -> list[Finding]:
        from openclaw.config.original_format import NOT_USED_HEAD, not_used_report

        findings = await diagnose(setup.catalog, setup.http)
        mcp = setup.loaded.config.mcp
        if mcp is not None and mcp.servers:  # only then is the MCP SDK imported
            from openclaw.agent.mcp import configured_servers
            from openclaw.agent.mcp.probe import server_findings

            findings += await server_findings(configured_servers(mcp))
        unused = not_used_report(setup.loaded.path) if setup.loaded.exists else []
        if unused:
            findings.append(
                Finding("not-used-here", "info", NOT_USED_HEAD.rstrip(":"), "", tuple(unused))
            )
        return findings

    try:
        findings = run_async(with_catalog(action))
    except ConfigError as error:
        findings = [
            Finding(
                "config-invalid",
                "error",
                str(error).splitlines()[0],
                "openclaw config validate",
                tuple(error.problems),
            )
        ]
    healthy = not any(f.severity == "error" for f in findings)
    if args.json:
        print_json({"healthy": healthy, "findings": [f.to_json() for f in findings]})
        return 0 if healthy else 1
    for finding in findings:
        print(f"{MARK[finding.severity]} {finding.problem}")
        for line in finding.details:
            print(f"    {line}")
        if finding.fix:
            print(f"    fix: {finding.fix}")
    print("All good." if healthy else "Problems found; fix the ones marked ✗ above.")
    return 0 if healthy else 1
