"""Blind A/B tests between two versions of a profile: assignment (fixed ratio or Thompson
sampling) and the statistics that decide (Welch's t-test, Cohen's d).

THE owner of ``personal/abtests/<name>.json`` (one file per test, written atomically).
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ProfileError

VARIANTS = ("control", "treatment")
SUCCESS_RATING = 4  # Thompson sampling counts a rating of 4 or 5 as a success
ALPHA = 0.05
MIN_EFFECT = 0.2  # Cohen's d worth adopting
EXPLORATION_FLOOR = 0.2  # Thompson: share kept by an arm short of min_samples (see assign)
BANDITS = ("thompson",)  # variant assignment strategies besides a fixed ratio
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Test:
    name: str
    control: str  # TYPE@VERSION
    treatment: str
    bandit: str | None = None  # "thompson", or None for a fixed ratio
    ratio: float = 0.5  # share of tracks for the treatment when there is no bandit
    min_samples: int = 50  # per variant, before a recommendation
    started: str = ""
    stopped: str = ""
    adopted: str = ""

    @property
    def kind(self) -> str:
        return self.control.partition("@")[0]


def _folder(home: Path) -> Path:
    return home / "personal" / "abtests"


def _path(home: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ProfileError(f"test name '{name}' must be 1–64 letters, digits, - or _")
    return _folder(home) / f"{name}.json"


def _save(home: Path, test: Test) -> None:
    _folder(home).mkdir(parents=True, exist_ok=True)
    from .versioned import write_atomic

    write_atomic(_path(home, test.name), json.dumps(asdict(test), indent=1) + "\n")


def load(home: Path, name: str) -> Test:
    path = _path(home, name)
    if not path.exists():
        raise ProfileError(f"no A/B test named '{name}' (see `auralis abtest status`)")
    try:
        return Test(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ProfileError(f"{path}: not a valid A/B test file ({exc})") from None


def all_tests(home: Path) -> list[Test]:
    return [load(home, path.stem) for path in sorted(_folder(home).glob("*.json"))]


def start(
    home: Path, name: str, control: str, treatment: str, ratio: float = 0.5, bandit: str | None = None,
    min_samples: int = 50,
) -> Test:  # fmt: skip
    """Begin a test between two existing versions of one profile."""
    from . import profiles  # here, not at the top: `auralis` offers BANDITS without loading profiles

    if _path(home, name).exists():
        raise ProfileError(f"an A/B test named '{name}' already exists")
    (kind_a, ver_a), (kind_b, ver_b) = profiles.parse_ref(control), profiles.parse_ref(treatment)
    if kind_a != kind_b or not ver_a or not ver_b or ver_a == ver_b:
        raise ProfileError("compare two versions of one profile, e.g. --control studio@1.0 --treatment studio@1.1")
    profiles.load(home, kind_a, ver_a), profiles.load(home, kind_b, ver_b)  # both must exist
    if bandit is not None and bandit not in BANDITS:
        raise ProfileError(f"the bandits are: {', '.join(BANDITS)}")
    if not 0.0 < ratio < 1.0:
        raise ProfileError("--ratio must be between 0 and 1")
    test = Test(name, control, treatment, bandit, ratio, min_samples, datetime.now(UTC).isoformat(timespec="seconds"))
    _save(home, test)
    return test


def running_for(home: Path, kind: str) -> Test | None:
    """The running test of profile ``kind`` (the oldest, if several)."""
    running = [test for test in all_tests(home) if not test.stopped and test.kind == kind]
    return min(running, key=lambda test: test.started) if running else None


def blind_state(home: Path, state, rng: random.Random | None = None):
    """``state`` (a rating.TrackState) as the listener should hear it: when a test of its type runs,
    with the parameters of the version a variant draw chose (personal layer included) and the
    test recorded, so the rating counts for that variant."""
    from dataclasses import replace

    from . import personal, profiles

    test = running_for(home, state.type)
    if test is None:
        return state
    variant = assign(test, results(home, test), rng)
    kind, version = profiles.parse_ref(getattr(test, variant))
    heard = personal.apply_to_profile(personal.current(home), profiles.load(home, kind, version))
    return replace(
        state, profile_version=version, parameters=heard.master.as_dict(), test_id=test.name, variant=variant
    )


def assign(test: Test, results: Results, rng: random.Random | None = None) -> str:
    """The variant for the next track: Thompson sampling on Beta(1 + successes, 1 + failures)
    posteriors, or a fixed treatment ratio.

    Thompson sampling soon stops feeding a clearly worse arm, which would then never reach the
    ``min_samples`` the significance test needs: until it does, a short arm gets each track with
    probability 0.2 (``EXPLORATION_FLOOR``) before the posteriors draw."""
    rng = rng or random.Random()
    if test.bandit == "thompson":
        short = [variant for variant, arm in results.arms.items() if arm.n < test.min_samples]
        if short and rng.random() < EXPLORATION_FLOOR * len(short):
            return rng.choice(short)
        draws = {
            variant: rng.betavariate(1 + arm.successes, 1 + arm.n - arm.successes)
            for variant, arm in results.arms.items()
        }
        return max(draws, key=draws.get)
    return "treatment" if rng.random() < test.ratio else "control"


# --- statistics ------------------------------------------------------------------------------------


@dataclass
class Arm:
    n: int = 0
    mean: float = math.nan
    std: float = math.nan  # sample standard deviation (n − 1)
    successes: int = 0


@dataclass
class Results:
    arms: dict[str, Arm]
    lift: float  # treatment mean − control mean (stars)
    t: float
    p: float  # Welch's two-sided p-value
    d: float  # Cohen's d with the pooled standard deviation
    recommendation: str

    def as_dict(self) -> dict:
        return {
            "arms": {k: asdict(v) for k, v in self.arms.items()},
            "lift": self.lift,
            "t": self.t,
            "p": self.p,
            "cohens_d": self.d,
            "recommendation": self.recommendation,
        }


def arm_of(ratings: list[int]) -> Arm:
    n = len(ratings)
    if n == 0:
        return Arm()
    mean = sum(ratings) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in ratings) / (n - 1)) if n > 1 else math.nan
    return Arm(n, mean, std, sum(1 for r in ratings if r >= SUCCESS_RATING))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b): its continued fraction evaluated with the
    modified Lentz method, on the side of (a+1)/(a+b+2) where it converges fast."""
    if x <= 0.0 or x >= 1.0:
        return min(max(x, 0.0), 1.0)
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b)) / a
    # I_x = front / (1 + d1 / (1 + d2 / (1 + …))) with d(2m+1) = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))
    # and d(2m) = m(b−m)x / ((a+2m−1)(a+2m)); Lentz: f = 0 + 1/(1 + d1/(1 + …)), partial numerators 1, d1, d2, …
    tiny = 1e-300
    f, c, d = tiny, tiny, 0.0
    for k in range(400):
        if k == 0:
            numerator = 1.0
        elif k % 2:
            m = (k - 1) // 2
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        else:
            m = k // 2
            numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + numerator * d
        d = 1.0 / (d or tiny)
        c = (1.0 + numerator / c) or tiny
        f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * f


def t_two_sided(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` degrees of freedom: I_(df/(df+t²))(df/2, 1/2)."""
    return _incomplete_beta(df / 2, 0.5, df / (df + t * t))


def welch(a: Arm, b: Arm) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value of b − a (Welch–Satterthwaite degrees of freedom)."""
    if a.n < 2 or b.n < 2:
        return math.nan, math.nan
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    if va + vb == 0:
        return math.nan, math.nan
    t = (b.mean - a.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    return t, t_two_sided(t, df)


def cohens_d(a: Arm, b: Arm) -> float:
    if a.n < 2 or b.n < 2:
        return math.nan
    pooled = math.sqrt(((a.n - 1) * a.std**2 + (b.n - 1) * b.std**2) / (a.n + b.n - 2))
    return (b.mean - a.mean) / pooled if pooled else math.nan


def evaluate(test: Test, control: list[int], treatment: list[int]) -> Results:
    """Counts, means, lift, Welch p, Cohen's d and what to do (adopt when p < 0.05 and d > 0.2)."""
    a, b = arm_of(control), arm_of(treatment)
    t, p = welch(a, b)
    d = cohens_d(a, b)
    if min(a.n, b.n) < test.min_samples:
        advice = f"keep going: {min(a.n, b.n)} of {test.min_samples} ratings in the smaller arm"
    elif p < ALPHA and d > MIN_EFFECT:
        advice = f"adopt {test.treatment}: better by {b.mean - a.mean:+.2f} stars (p = {p:.3g}, d = {d:.2f})"
    elif p < ALPHA and d < -MIN_EFFECT:
        advice = f"keep {test.control}: the treatment is worse (p = {p:.3g}, d = {d:.2f})"
    else:
        advice = f"no clear difference yet (p = {p:.3g}, d = {d:.2f})"
    return Results({"control": a, "treatment": b}, b.mean - a.mean, t, p, d, advice)


def results(home: Path, test: Test) -> Results:
    from . import store  # DuckDB only here: `auralis abtest` and the CLI's parser stay light

    store.sync_feedback(home)
    ratings = store.test_ratings(home, test.name)
    return evaluate(test, ratings.get("control", []), ratings.get("treatment", []))


def stop(home: Path, name: str, adopt: bool = False) -> tuple[Test, Results, str | None]:
    """End a test; with ``adopt`` the treatment becomes the current version (as a new version)."""
    from . import profiles

    test = load(home, name)
    if test.stopped:
        raise ProfileError(f"A/B test '{name}' already stopped on {test.stopped}")
    outcome = results(home, test)
    adopted = None
    if adopt:
        kind, version = profiles.parse_ref(test.treatment)
        current = profiles.current_version(home, kind)
        adopted = version if current == version else profiles.rollback(home, kind, version).version
        test.adopted = f"{kind}@{adopted}"
    test.stopped = datetime.now(UTC).isoformat(timespec="seconds")
    _save(home, test)
    return test, outcome, adopted
