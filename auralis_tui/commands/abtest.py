"""``auralis abtest start|status|stop``: blind A/B tests between two versions of a profile."""

from __future__ import annotations

import argparse

from ..abtest import BANDITS
from .common import add_command, add_group, add_json, home, positive_int, print_json


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(
        commands,
        "abtest",
        help="blind A/B tests between two versions of a profile",
        description="Status shows counts, means, lift, Welch's t-test p-value, Cohen's d and a recommendation "
        "(adopt when p < 0.05 and d > 0.2).",
    )
    start = add_command(actions, "start", help="begin a blind test")
    start.add_argument("name", metavar="NAME")
    start.add_argument("--control", metavar="TYPE@V", required=True)
    start.add_argument("--treatment", metavar="TYPE@V", required=True)
    mode = start.add_mutually_exclusive_group()
    mode.add_argument("--ratio", type=float, default=0.5, help="treatment share without a bandit (default 0.5)")
    mode.add_argument("--bandit", choices=BANDITS, help="assign variants by a bandit")
    start.add_argument("--min-samples", type=positive_int, default=50, metavar="N", help="per variant (default 50)")
    start.set_defaults(run=run_start)
    status = add_command(actions, "status", help="results of one test or of all")
    status.add_argument("name", nargs="?", metavar="NAME")
    add_json(status, "machine-readable status")
    status.set_defaults(run=run_status)
    stop = add_command(actions, "stop", help="end a test")
    stop.add_argument("name", metavar="NAME")
    stop.add_argument("--adopt", action="store_true", help="make the treatment the current version")
    stop.set_defaults(run=run_stop)


def run_start(args: argparse.Namespace) -> int:
    from .. import abtest

    test = abtest.start(home(args), args.name, args.control, args.treatment, args.ratio, args.bandit, args.min_samples)
    how = "Thompson sampling" if test.bandit else f"{test.ratio:.0%} of tracks to the treatment"
    print(f"A/B test {test.name}: {test.control} vs {test.treatment}, {how}, blind")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from .. import abtest

    test, outcome, adopted = abtest.stop(home(args), args.name, args.adopt)
    print(f"A/B test {test.name} stopped: {outcome.recommendation}")
    if adopted:
        print(f"  {test.kind} {adopted} is now current (equal to {test.treatment})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from .. import abtest

    data = home(args)
    tests = [abtest.load(data, args.name)] if args.name else abtest.all_tests(data)
    report = [(test, abtest.results(data, test)) for test in tests]
    if args.json:
        print_json([{"test": vars(test), **outcome.as_dict()} for test, outcome in report])
        return 0
    if not report:
        print("no A/B tests: start one with `auralis abtest start NAME --control T@V1 --treatment T@V2`")
    for test, outcome in report:
        state = f"stopped {test.stopped}" if test.stopped else "running"
        print(f"{test.name} ({state}): {test.control} vs {test.treatment}")
        for variant, arm in outcome.arms.items():
            print(f"  {variant:9s} n {arm.n:4d}  mean {arm.mean:.2f}  sd {arm.std:.2f}")
        print(f"  lift {outcome.lift:+.2f}  p {outcome.p:.3g}  d {outcome.d:.2f} → {outcome.recommendation}")
    return 0
