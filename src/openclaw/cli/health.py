"""`openclaw health`: each provider's auth, reachability and models."""

from __future__ import annotations

import argparse

from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.cli.render import print_json, table

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw health",
        description="Check each provider; exit 1 when the primary model's provider is unusable.",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also contact cloud providers (those with a key) to check that they answer",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)

    async def action(setup: Setup) -> int:
        from openclaw.auth import redact
        from openclaw.runtime.health import check_providers, model_counts

        catalog = setup.catalog
        results = await check_providers(
            setup.http, catalog.providers.values(), model_counts(catalog), contact_cloud=args.probe
        )
        selection = setup.catalog.selection()
        primary = selection.primary
        usable = primary is not None and any(r.id == primary.provider and r.usable for r in results)
        keys = {s.id: s.key for s in setup.catalog.providers.values()}
        if args.json:
            print_json(
                {
                    "healthy": usable,
                    "primary": primary.key if primary else None,
                    "providers": [
                        {
                            "id": r.id,
                            "api": r.api,
                            "baseUrl": r.base_url,
                            "auth": (
                                {"source": r.auth_source, "key": redact(k.value)}
                                if (k := keys.get(r.id))
                                else None
                            ),
                            "reachable": r.reachable,
                            "latencyMs": r.latency_ms,
                            "models": r.models,
                            "problem": r.problem,
                        }
                        for r in results
                    ],
                }
            )
            return 0 if usable else 1
        rows = []
        for r in results:
            key = keys.get(r.id)
            auth = f"{r.auth_source} ({redact(key.value)})" if key else "none"
            if r.reachable is None:
                reach = "not checked"
            else:
                reach = f"yes, {r.latency_ms} ms" if r.reachable else "NO"
            rows.append([r.id, auth, reach, str(r.models), r.problem or "ok"])
        print(table(["Provider", "Auth", "Reachable", "Models", "Status"], rows))
        if primary is None:
            print("\nNo primary model is usable: run `openclaw doctor`.")
        else:
            state = "usable" if usable else "NOT usable: run `openclaw doctor`"
            print(f"\nPrimary model {primary.key}: {state}")
        return 0 if usable else 1

    return run_async(with_catalog(action))
