"""The command palette's Auralis commands (ctrl+p): every app action by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .panels import PANELS

#: (name, help, action with arguments) — run as app actions, so they behave as their keys do.
COMMANDS = (
    *[(f"Open {title}", f"switch to the {title} panel (F{n})", f"panel('{pane}')")
      for n, (pane, title, _) in enumerate(PANELS, 1)],
    ("Play / pause", "space", "pause"),
    ("Next track", "n", "skip(1)"),
    ("Previous track", "p", "skip(-1)"),
    ("Switch A/B (original ↔ mastered)", "a", "ab"),
    ("Volume up", "+", "volume(0.05)"),
    ("Volume down", "-", "volume(-0.05)"),
    *[(f"Rate {n} star{'s' if n > 1 else ''}", f"{n}: rate what the status line names", f"rate({n})")
      for n in range(1, 6)],
    ("Comment, then rate", "c", "comment"),
    ("Withdraw the last rating", "u", "undo"),
    ("Accept the fix", "y", "fix('accept')"),
    ("Reject the fix", "x", "fix('reject')"),
    ("Undo the fix", "z", "fix('undo')"),
    ("Roll back a profile change rated worse", "R", "undo_degradation"),
    ("Keys", "?: the keys of this panel and of the app", "help"),
)  # fmt: skip


class AuralisCommands(Provider):
    """Finds the app's own commands by fuzzy match."""

    async def discover(self) -> Hits:
        for name, help_text, action in COMMANDS:
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), help=help_text)

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)
