"""Bench: ``lmctl validate`` on 500 generated arrays, and ``lmctl --help`` start-up.

Generates 500 array specs (250 AD sites, each with an Exchange 2010 CAS array with static RPC
ports and an Exchange 2016 namespace, three members each) spread over 10 mock appliances, then
measures, best of several runs:

* load + validate in-process: ``load_specs`` (YAML, models, every cross-spec rule);
* expand in-process: ``expand_all`` over the loaded set;
* the CLI: ``lmctl validate DIR`` as a new process (start-up included);
* ``lmctl --help`` as a new process.

No appliance is contacted (0 API calls). Run: ``python bench/bench_validate.py [--arrays 500]``.
Targets: validate 500 arrays < 1 s; ``lmctl --help`` < 0.3 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lmctl.exchange import expand_all
from lmctl.specs import load_specs

APPLIANCES = 10
VALIDATE_TARGET = 1.0
HELP_TARGET = 0.3


def array_2010(site: int) -> str:
    """An Exchange 2010 CAS array of site ``site`` with static RPC ports and three members."""
    net = f"10.{site // 100}.{site % 100 * 2}"
    members = "".join(
        f"  - {{name: S{site}-CAS0{k}, address: {net}.{10 + k}, site: SITE-{site}, "
        f"exchange: 2010 SP3}}\n"
        for k in range(1, 4)
    )
    return (
        f"name: site{site}-cas\nsite: SITE-{site}\nexchange: 2010 SP3\n"
        f"fqdn: outlook-{site}.corp.example.com\nvip: {net}.50\nappliance: lm-{site % APPLIANCES}\n"
        "rpc_ports: {client_access: 60000, address_book: 60001}\n"
        f"client_hostnames: [mail-{site}.corp.example.com]\n"
        f"members:\n{members}services: [rpc, https, http-redirect, imap4s]\n"
        "overrides:\n  https: {persistence_timeout: 3600}\n"
    )


def array_2016(site: int) -> str:
    """An Exchange 2016 namespace of site ``site`` with three members."""
    net = f"10.{site // 100}.{site % 100 * 2 + 1}"
    members = "".join(
        f"  - {{name: S{site}-EX16-0{k}, address: {net}.{10 + k}}}\n" for k in range(1, 4)
    )
    return (
        f"name: site{site}-ex2016\nsite: SITE-{site}\nexchange: 2016 CU23\n"
        f"fqdn: mail2016-{site}.corp.example.com\nvip: {net}.50\n"
        f"appliance: lm-{site % APPLIANCES}\nmembers:\n{members}"
    )


def generate(directory: Path, arrays: int) -> None:
    """Write ``arrays`` array specs and an inventory of mock appliances into ``directory``."""
    inventory = "appliances:\n" + "".join(
        f"  lm-{n}: {{url: 'mock://lm-{n}'}}\n" for n in range(APPLIANCES)
    )
    (directory / "appliances.yaml").write_text(inventory)
    for n in range(arrays):
        site, kind = divmod(n, 2)
        text = array_2010(site) if kind == 0 else array_2016(site)
        (directory / f"array-{n:04d}.yaml").write_text(text)


def best_of(runs: int, step: Callable[[], object]) -> float:
    """The shortest wall time of ``runs`` runs of ``step``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times)


def run_cli(*args: str) -> None:
    """Run the installed ``lmctl`` console script; fail loudly on a non-zero exit."""
    script = Path(sys.executable).with_name("lmctl")
    subprocess.run([str(script), *args], check=True, stdout=subprocess.DEVNULL)


def validate_seconds(directory: str) -> float:
    """Best-of-3 wall time of ``lmctl validate DIR`` as a new process."""
    return best_of(3, lambda: run_cli("validate", directory))


def main() -> None:
    """Generate the specs, time each step, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", type=int, default=500)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        generate(directory, options.arrays)
        spec_set = load_specs([directory])
        services = sum(len(v) for v in expand_all(spec_set).values())
        rows = [
            ("load + validate (in-process)", best_of(5, lambda: load_specs([directory])), 1.0),
            ("expand_all (in-process)", best_of(5, lambda: expand_all(spec_set)), None),
            ("lmctl validate DIR (new process)", validate_seconds(temporary), VALIDATE_TARGET),
            ("lmctl --help (new process)", best_of(5, lambda: run_cli("--help")), HELP_TARGET),
        ]
    print(f"{len(spec_set.arrays)} arrays, {services} virtual services, {APPLIANCES} appliances")
    print(f"{'step':<34} {'seconds':>8} {'API calls':>10} {'target':>8}  result")
    for name, seconds, target in rows:
        verdict = "-" if target is None else ("ok" if seconds < target else "SLOW")
        limit = "-" if target is None else f"< {target}"
        print(f"{name:<34} {seconds:>8.3f} {0:>10} {limit:>8}  {verdict}")


if __name__ == "__main__":
    main()
