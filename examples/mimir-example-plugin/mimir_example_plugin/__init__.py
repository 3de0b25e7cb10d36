"""Example Mimir plugin with two actions: `example:shout` and `example:word_count`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flows.actions.base import ActionContext, PermanentError, Plugin, action


class ShoutParams(BaseModel):
    """Inputs of example:shout."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Text to upper-case.")
    times: int = Field(default=1, ge=1, le=10, description="How often to repeat it.")


@action("shout")
def shout(params: ShoutParams, ctx: ActionContext) -> dict[str, Any]:
    """Upper-case a text, repeated `times` times."""
    return {"text": " ".join([params.text.upper()] * params.times), "step": ctx.step}


class WordCountParams(BaseModel):
    """Inputs of example:word_count."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(description="Texts to count words in.")


@action("word_count")
def word_count(params: WordCountParams, ctx: ActionContext) -> dict[str, Any]:
    """Count words per text and in total."""
    if not params.texts:
        raise PermanentError("word_count needs at least one text")
    counts = [len(text.split()) for text in params.texts]
    return {"counts": counts, "total": sum(counts)}


plugin = Plugin(
    name="example",
    version="1.0.0",
    description="Example actions showing the plugin format.",
    actions=(shout, word_count),
)
