"""Reading requests: bodies size-limited, parsed and validated into typed models; path ids
and query integers bounded to what the database stores. Every route reads through here, so
a bad input gets the same clear 4xx everywhere."""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from richsms import processes
from richsms.errors import described
from richsms.types import BIGINT_MAX, BIGINT_MIN, ID_MAX
from web.context import context
from web.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)

# JSON nested deeper than this is no request richsms understands; refusing it early keeps
# the parser and the validators far from Python's recursion limit.
MAX_JSON_DEPTH = 32
# No object richsms reads has more members (200 custom fields at most): a body of 700,000
# keys is refused before any validator lists what is wrong with each.
MAX_JSON_KEYS = 1_000


def _too_deep() -> BadRequest:
    return BadRequest(400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")



async def read_model(request: Request, model: type[Model], *, optional: bool = False) -> Model:
    """The body as `model`: 400 for bad JSON or none at all, 415 for a wrong type, 422
    for bad fields. An `optional` body (its operation says so) may be left out: empty, it
    is `model()` with its defaults."""
    raw = await read_body(request)
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest(400, "a JSON body is required")
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith(("/json", "+json")):
        raise BadRequest(415, "send the body as application/json")
    # Parsing and validating up to max_body_bytes is CPU work: never on the event loop.
    return await run_in_threadpool(model_of, raw, model)


def model_of(raw: bytes, model: type[Model]) -> Model:
    """`raw` parsed and validated as `model`, or a clear 400/422 (its first problems
    listed: `richsms.errors.described`). A large body is parsed in another process."""
    data = parse_json(raw) if len(raw) < PARSE_ELSEWHERE_BYTES else parse_elsewhere(raw)
    if not isinstance(data, dict):
        raise BadRequest(400, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(422, described(exc, "body"), code="invalid_input") from None


# What browsers and tools send for a .csv file.
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


async def read_csv(request: Request, refusal: str) -> bytes:
    """A CSV body (`read_body`): 415 with `refusal` when it is sent as anything else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise BadRequest(415, refusal)
    return await read_body(request)


def parse_json(raw: bytes) -> Any:
    """Parsed JSON whose every value the database could store, else a clear 400/422."""
    if not raw:
        return None
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, over 4,300 digits
        raise BadRequest(400, f"the body is not valid JSON: {exc}") from None
    _check_values(data)
    return data


# Python's JSON parser holds the interpreter's lock for the whole document (seconds for
# 8 MB on a loaded machine): a thread would not let the event loop run meanwhile. Bodies
# from this size on are parsed in a worker process (`richsms.processes`), which sends
# back the values.
PARSE_ELSEWHERE_BYTES = 256 * 1024


def parse_elsewhere(raw: bytes) -> Any:
    """`parse_json(raw)` run in a worker process."""
    outcome = processes.run(processes.PARSE, _parse_outcome, raw)
    if outcome[0] == "error":
        _, status, message, code = outcome
        raise BadRequest(status, message, code=code)
    return outcome[1]


def _parse_outcome(raw: bytes) -> tuple[Any, ...]:
    """In the parser process: ("ok", values) or ("error", status, message, code)."""
    try:
        return ("ok", parse_json(raw))
    except BadRequest as exc:
        return ("error", exc.status_code, exc.detail, exc.code)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_values(data: Any) -> None:
    """Walk the document once, without recursion, refusing what no column can hold."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "body")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if len(value) > MAX_JSON_KEYS:
                raise BadRequest(
                    422,
                    f"{_short(where)}: an object has at most {MAX_JSON_KEYS} members, "
                    f"not {len(value)}",
                    code="invalid_input",
                )
            for key, item in value.items():
                _check_text(key, where)
                stack.append((item, depth + 1, f"{where}.{key}"))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            for index, item in enumerate(value):
                if isinstance(item, (dict, list, str)) or type(item) is int:
                    stack.append((item, depth + 1, f"{where}.{index}"))
        elif isinstance(value, str):
            _check_text(value, where)
        elif type(value) is int:
            if not BIGINT_MIN <= value <= BIGINT_MAX:
                raise BadRequest(
                    422, f"{_short(where)}: the number is out of range", code="invalid_input"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(
                422, f"{_short(where)}: the number is out of range", code="invalid_input"
            )


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise BadRequest(
            422, f"{_short(where)}: text must not contain NUL characters", code="invalid_input"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(
                422,
                f"{_short(where)}: the text contains a lone surrogate (\\ud800-\\udfff)",
                code="invalid_input",
            ) from None


def _short(where: str) -> str:
    return where if len(where) <= 80 else where[:77] + "..."


def path_id(request: Request, what: str, name: str = "id") -> int:
    """The numeric `{id}` of the path: 422 when it is no id at all, 404 when no row can
    have it (past the database's range)."""
    raw = str(request.path_params[name])
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(422, f"not a {what} id: {raw[:40]!r}", code="invalid_input")
    value = int(raw) if len(raw) <= 12 else ID_MAX + 1
    if not 1 <= value <= ID_MAX:
        raise BadRequest(404, f"no {what} {raw[:40]}", code="not_found")
    return value


def query_int(
    request: Request,
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int = ID_MAX,
) -> int:
    """An integer query parameter within [minimum, maximum], or a clear 422."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 20):
        raise BadRequest(422, f"{name} must be an integer, got {raw[:40]!r}", code="invalid_input")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadRequest(
            422, f"{name} must be between {minimum} and {maximum}", code="invalid_input"
        )
    return value


def parse_form(body: bytes, *, max_bytes: int, max_fields: int) -> dict[str, str]:
    """A urlencoded form's fields (blank ones kept), or {} when the body is larger than
    `max_bytes` or is not UTF-8: the UI and the staff page read their forms so."""
    if len(body) > max_bytes:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields))


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` (the configured
    one when not given): never read whole first. Read once per request: a second read
    (the UI's sign-in check reading a form after a route read its upload) gets it again
    rather than Starlette's "Stream consumed"."""
    if limit is None:
        limit = int(context(request).settings.max_body_bytes)
    declared = request.headers.get("content-length", "")
    too_large = BadRequest(413, f"the body is larger than {limit} bytes")
    already: bytes | None = getattr(request.state, "body", None)
    if already is not None:
        if len(already) > limit:
            raise too_large
        return already
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = request.state.body = b"".join(chunks)
    return body


def _id_pattern(top: int) -> str:
    """A regex matching exactly the decimal numbers 0..top (leading zeros allowed)."""
    digits = str(top)
    options = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        if int(d) > 0:
            low = "0" if i else "1"
            if int(d) - 1 >= int(low):
                tail = f"[0-9]{{{rest}}}" if rest else ""
                options.append(f"{digits[:i]}[{low}-{int(d) - 1}]{tail}")
    options.append(digits)
    return "0*(?:" + "|".join(options) + ")"


class BoundedIntConvertor(Convertor[int]):
    """`{name:int}` path parameters: ASCII digits within the database's id range only, so
    `/api/contacts/99999999999999999999` is an ordinary 404, never a database error."""

    regex = _id_pattern(ID_MAX)

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


assert re.fullmatch(BoundedIntConvertor.regex, str(ID_MAX))
assert not re.fullmatch(BoundedIntConvertor.regex, str(ID_MAX + 1))
# Routes compile their paths when built: `web.api` imports this module before any of them.
register_url_convertor("int", BoundedIntConvertor())


class DuplicateIn(BaseModel):
    """The body of a `POST .../duplicate`: the copy's name, if not the default."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(
        None, max_length=200, description="The copy's name (default: the original's + ' (copy)')."
    )
