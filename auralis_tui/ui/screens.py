"""Modal screens: a question to confirm, the comment box, and the help of the keys in use."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .format import safe
from .panels.keys import TextBox


class Confirm(ModalScreen[bool]):
    """A yes/no question; y or enter confirms, n or esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"{safe(self.question)}\n\n[b]y[/b]/enter yes · [b]n[/b]/esc no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CommentBox(ModalScreen[str | None]):
    """Type a comment for the next rating; enter keeps it, esc drops it. Focus returns to where
    it was, so the next key rates the same target as before."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "drop", "Cancel")]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Comment on {safe(self.target)} (e.g. 'a bit thin', 'harsh'); then press 1–5")
            yield TextBox(id="comment", placeholder="enter keeps it · esc cancels", max_length=4096)

    @on(Input.Submitted, "#comment")
    def _keep(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_drop(self) -> None:
        self.dismiss(None)


class Help(ModalScreen[None]):
    """The keys of the focused panel, then the keys that work everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
        Binding("j,down", "scroll('down')", show=False),
        Binding("k,up", "scroll('up')", show=False),
    ]

    def __init__(self, here: list[tuple[str, str]], everywhere: list[tuple[str, str]], panel: str) -> None:
        super().__init__()
        self.sections = ((f"On {panel}", here), ("Everywhere", everywhere))

    def compose(self) -> ComposeResult:
        lines = []
        for title, keys in self.sections:
            lines.append(f"[b]{title}[/b]")
            lines += [f"  {safe(key):>14}  {safe(description)}" for key, description in keys]
            lines.append("")
        lines.append("[dim]esc or ? closes · ↑/↓ scroll[/dim]")
        with VerticalScroll(classes="dialog", id="help"):
            yield Static("\n".join(lines))

    def action_scroll(self, direction: str) -> None:
        scroller = self.query_one("#help", VerticalScroll)
        scroller.scroll_down() if direction == "down" else scroller.scroll_up()

    def action_close(self) -> None:
        self.dismiss(None)
