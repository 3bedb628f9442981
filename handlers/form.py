"""The form engine: conversations that fill a draft one field at a time (hazard report, rectification, broadcast,
revisit survey, new training session, complaint).

A form is a list of steps. The next question is always the first step that applies and is not yet done, so a
caption that already said the level is never asked again, and a restart resumes where the draft stands (it lives
in the conversation state). Done means every step is: the person sees a summary and submits it, changes one
field (that field is cleared with what depends on it, asked again, and the summary comes back), or cancels.

The engine does once what every form needs: photos at any step (where the form collects them), the refusal of a
button from an earlier question, a nudge for an answer of the wrong kind, the summary with its three buttons.
Deciding whether a step is done never changes the draft."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import N_, T
from bot.messages import Card, Choice, Label, Location, Msg, Payload, StoredMedia, TextIn
from handlers.context import Known, flow_choice, flow_option
from handlers.registry import flow

Draft = dict[str, Any]
Options = Sequence[tuple[Any, Label]]
OptionsFn = Callable[[Known, Draft], Awaitable[Options]]

PICK_ONE = N_("Please pick one of the options.")
EARLIER = N_("That button belongs to an earlier question.")
CONFIRM = "confirm"  # the summary's buttons: f:confirm:submit | change | cancel
CHANGE = "change"  # the change menu: f:change:<step key>


def read_text(ctx: Known, payload: Payload, min_len: int, max_len: int) -> str | None:
    """Typed text of an acceptable length, stripped; None after saying what is wrong with it."""
    if not isinstance(payload, TextIn):
        ctx.say(T("Please type it as text."))
        return None
    text = payload.text.strip()
    if len(text) < min_len:
        ctx.say(T("That is too short; a few words please."))
        return None
    if len(text) > max_len:
        ctx.say(T("That is too long: {n} characters, at most {max}. Please shorten it.", n=len(text), max=max_len))
        return None
    return text


class Step(ABC):
    """One field of a form, stored in the draft under `key` (and answered by buttons `f:<key>:<value>`)."""

    key: str
    label: str | None = None  # message id naming the field in the change menu; None: it cannot be changed
    clears: tuple[str, ...] = ()  # draft keys that depend on this field, cleared when it is changed
    takes_media: bool = False  # a photo answers this step itself (instead of joining the form's photos)
    nudge: str = PICK_ONE  # said when something that is no answer arrives and the step said nothing itself

    def applies(self, ctx: Known, d: Draft) -> bool:
        return True

    def done(self, d: Draft) -> bool:
        return self.key in d

    def menu_label(self) -> Msg:
        """The field's name in the change menu."""
        return T(self.label or self.key)

    def owns(self, value: str) -> bool:
        """Whether a pressed button belongs to this step."""
        return value.startswith(f"f:{self.key}:")

    @abstractmethod
    async def ask(self, ctx: Known, d: Draft) -> None: ...

    @abstractmethod
    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        """Take the answer into the draft; False when it was none (the engine nudges and asks again)."""

    def forget(self, d: Draft) -> None:
        for key in (self.key, *self.clears):
            d.pop(key, None)


class Offering(Step):
    """A step answered by pressing one of its options (on text-only channels: typing its number or label)."""

    def __init__(self, key: str, prompt: str, options: Options | OptionsFn, label: str | None) -> None:
        self.key, self.prompt, self.label = key, prompt, label
        self._options = options

    async def options(self, ctx: Known, d: Draft) -> Options:
        """The options as offered now (they may depend on the person and the draft)."""
        return await self._options(ctx, d) if callable(self._options) else self._options

    async def pressed(self, ctx: Known, d: Draft, payload: Payload) -> tuple[str | None, list[Any]]:
        """The raw value of the button pressed for this step, and the option it is ([] when it is none of them)."""
        raw = flow_choice(payload, self.key)
        return raw, [value for value, _ in await self.options(ctx, d) if raw is not None and raw == str(value)][:1]


class Choose(Offering):
    """One of a list of options."""

    def __init__(
        self,
        key: str,
        prompt: str,
        options: Options | OptionsFn,
        *,
        label: str | None = None,
        clears: tuple[str, ...] = (),
        when: Callable[[Draft], bool] | None = None,
    ) -> None:
        super().__init__(key, prompt, options, label)
        self.clears = clears
        self._when = when

    def applies(self, ctx: Known, d: Draft) -> bool:
        return self._when is None or self._when(d)

    async def prompt_for(self, ctx: Known, d: Draft) -> Msg:
        return T(self.prompt)

    async def ask(self, ctx: Known, d: Draft) -> None:
        options = [flow_option(self.key, value, label) for value, label in await self.options(ctx, d)]
        ctx.ask(await self.prompt_for(ctx, d), options)

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        _, offered = await self.pressed(ctx, d, payload)
        if not offered:
            return False
        d[self.key] = offered[0]
        return True


class Write(Step):
    """A line of text of a bounded length."""

    def __init__(
        self, key: str, prompt: str, *, label: str | None = None, min_len: int = 2, max_len: int = 1000
    ) -> None:
        self.key, self.prompt, self.label, self.min_len, self.max_len = key, prompt, label, min_len, max_len

    async def ask(self, ctx: Known, d: Draft) -> None:
        ctx.say(T(self.prompt))

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        text = read_text(ctx, payload, self.min_len, self.max_len)
        if text is None:
            return False
        d[self.key] = text
        return True


class Toggle(Offering):
    """Several of a list of options: each press switches one on or off, Next ends the step."""

    def __init__(
        self,
        key: str,
        prompt: str,
        options: Options | OptionsFn,
        *,
        label: str | None = None,
        default: Sequence[Any] = (),
    ) -> None:
        super().__init__(key, prompt, options, label)
        self.default = list(default)
        self.clears = (f"{key}_done",)

    def done(self, d: Draft) -> bool:
        return bool(d.get(f"{self.key}_done"))

    async def ask(self, ctx: Known, d: Draft) -> None:
        chosen = d.setdefault(self.key, list(self.default))
        options = [
            flow_option(self.key, value, T("✓ {name}", name=label) if value in chosen else T("☐ {name}", name=label))
            for value, label in await self.options(ctx, d)
        ]
        ctx.ask(T(self.prompt), [*options, flow_option(self.key, "done", T("Next"))])

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        raw, offered = await self.pressed(ctx, d, payload)
        chosen: list[Any] = d.setdefault(self.key, list(self.default))
        if raw == "done":
            if not chosen:
                ctx.say(T("Choose at least one."))
                return False
            d[f"{self.key}_done"] = True
            return True
        if not offered:
            return False
        if offered[0] in chosen:
            chosen.remove(offered[0])
        else:
            chosen.append(offered[0])
        return True


class Photos(Step):
    """At least one photo, then Done (the photos themselves arrive through the form's PhotoBox, at any step)."""

    def __init__(self, key: str, first: Msg | Callable[[Draft], Msg], *, nudge: str, label: str | None = None) -> None:
        self.key, self.first, self.nudge, self.label = key, first, nudge, label
        self.clears = (f"{key}_done",)

    def done(self, d: Draft) -> bool:
        return bool(d.get(self.key)) and bool(d.get(f"{self.key}_done"))

    async def ask(self, ctx: Known, d: Draft) -> None:
        n = len(d.get(self.key, []))
        if n == 0:
            ctx.say(self.first(d) if callable(self.first) else self.first)
        else:
            ctx.ask(T("Photo {n} received. Send more, or press Done.", n=n), [flow_option(self.key, "done", T("Done"))])

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if flow_choice(payload, self.key) == "done" and d.get(self.key):
            d[f"{self.key}_done"] = True
            return True
        ctx.say(T(self.nudge))
        return False


class DateStep(Step):
    """A date from the offered ones, or typed (YYYY-MM-DD and the other forms `parse` reads); never in the past."""

    def __init__(
        self,
        key: str,
        prompt: str,
        choices: Callable[[Known, Draft], Options],
        parse: Callable[[str, dt.date], dt.date | None],
        unreadable: Callable[[Known, Draft], Msg],
        *,
        label: str | None = None,
    ) -> None:
        self.key, self.prompt, self.label = key, prompt, label
        self.choices, self.parse, self.unreadable = choices, parse, unreadable

    async def ask(self, ctx: Known, d: Draft) -> None:
        ctx.ask(T(self.prompt), [flow_option(self.key, value, label) for value, label in self.choices(ctx, d)])

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        pressed = flow_choice(payload, self.key)
        day: dt.date | None = None
        if pressed is not None:
            try:
                day = dt.date.fromisoformat(pressed)
            except ValueError:
                day = None
        elif isinstance(payload, TextIn):
            day = self.parse(payload.text, ctx.today)
            if day is None:
                ctx.say(self.unreadable(ctx, d))
                return False
        if day is None or day < ctx.today:
            return False
        d[self.key] = day.isoformat()
        return True


@dataclass(frozen=True)
class PhotoBox:
    """Where photos sent at any step of a form go: `key` in the draft, at most `most`; a caption fills
    `caption_key` when that is still empty."""

    key: str
    most: int
    full: str = N_("That is enough photos for one hazard (at most {n}).")
    caption_key: str | None = None


@dataclass(frozen=True)
class Review:
    """The summary before submitting: a card, and the submit button's label."""

    title: Msg
    fields: tuple[tuple[Msg, Label], ...]
    submit: Msg = field(default_factory=lambda: T("Submit"))


Submit = Callable[[Known, Draft], Awaitable[None]]
ReviewFn = Callable[[Known, Draft], Awaitable[Review | None]]


class FormFlow:
    def __init__(
        self,
        name: str,
        title: str,
        steps: Sequence[Step] | Callable[[Draft], Sequence[Step]],
        *,
        submit: Submit,
        review: ReviewFn,
        cancelled: str,
        photos: PhotoBox | None = None,
    ) -> None:
        self.name, self.title, self.cancelled = name, title, cancelled
        self._steps = steps
        self.submit, self.review, self.photos = submit, review, photos
        self.spec = flow(name, title, self.on_input, self.resume)

    def steps(self, d: Draft) -> Sequence[Step]:
        return self._steps(d) if callable(self._steps) else self._steps

    def current(self, ctx: Known, d: Draft) -> Step | None:
        """The first step that applies and is not done; None when the draft is complete."""
        return next((s for s in self.steps(d) if s.applies(ctx, d) and not s.done(d)), None)

    async def begin(self, ctx: Known, data: Draft | None = None) -> None:
        ctx.start(self.name, data)
        await self.resume(ctx)

    async def resume(self, ctx: Known) -> None:
        step = self.current(ctx, ctx.data)
        if step is not None:
            await step.ask(ctx, ctx.data)
            return
        review = await self.review(ctx, ctx.data)
        if review is None:  # the review found the draft wanting and cleared what must be asked again
            if ctx.flow == self.name and self.current(ctx, ctx.data) is not None:
                await self.resume(ctx)
            return
        ctx.send(
            Card(
                review.title,
                review.fields,
                (
                    flow_option(CONFIRM, "submit", review.submit),
                    flow_option(CONFIRM, CHANGE, T("Change something")),
                    flow_option(CONFIRM, "cancel", T("Cancel")),
                ),
            )
        )

    async def on_input(self, ctx: Known, payload: Payload) -> None:
        d = ctx.data
        step = self.current(ctx, d)
        if isinstance(payload, StoredMedia) and self.photos is not None and not (step and step.takes_media):
            self._add_photo(ctx, d, payload, self.photos, step)
        elif step is None:
            if await self._decide(ctx, payload):
                return
        elif isinstance(payload, Choice) and not step.owns(payload.value):
            ctx.refuse(T(EARLIER))
        else:
            said = len(ctx.replies)
            if not await step.accept(ctx, d, payload) and len(ctx.replies) == said:
                ctx.say(T(step.nudge))
        await self.resume(ctx)

    def _add_photo(self, ctx: Known, d: Draft, media: StoredMedia, box: PhotoBox, step: Step | None) -> None:
        photos: list[str] = d.setdefault(box.key, [])
        if box.caption_key and media.caption and box.caption_key not in d:
            d[box.caption_key] = media.caption.strip()[:1000]
        if len(photos) >= box.most:
            ctx.say(T(box.full, n=box.most))
            return
        if media.sha256 not in photos:
            photos.append(media.sha256)
        if step is None or step.key != box.key:
            ctx.say(T("Photo added ({n} in total).", n=len(photos)))

    async def _decide(self, ctx: Known, payload: Payload) -> bool:
        """At the summary: submit, cancel, or change one field. True when the conversation has been answered."""
        pressed = flow_choice(payload, CONFIRM)
        if pressed == "submit":
            await self.submit(ctx, ctx.data)
            return True
        if pressed == "cancel":
            ctx.finish()
            ctx.say(T(self.cancelled))
            return True
        changeable = [s for s in self.steps(ctx.data) if s.label and s.applies(ctx, ctx.data)]
        if pressed == CHANGE:
            ctx.ask(
                T("What do you want to change?"),
                [flow_option(CHANGE, s.key, s.menu_label()) for s in changeable],
            )
            return True
        which = flow_choice(payload, CHANGE)
        chosen = next((s for s in changeable if s.key == which), None)
        if chosen is not None:
            chosen.forget(ctx.data)
            return False  # the engine asks the cleared field now
        if isinstance(payload, Choice):
            ctx.refuse(T(EARLIER))
        return False


def location_text(payload: Payload) -> str | None:
    """A shared location as the text a location field keeps."""
    if isinstance(payload, Location):
        return payload.label or f"{payload.latitude:.5f},{payload.longitude:.5f}"
    return None
