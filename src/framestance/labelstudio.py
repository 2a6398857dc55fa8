"""The adapter to Label Studio: the only module that imports `label_studio_sdk`.

Everything else (push, pull, tests, benchmarks) calls these functions, so an SDK upgrade touches
one file. Connection problems become `StudioUnavailable`, a rejected key `StudioAuthError`: both
carry one clear line and never the key itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from .codebook import Codebook
from .errors import FramestanceError

# Imports and bulk calls must not be retried by the SDK: a committed import whose reply was lost
# would be sent twice and duplicate tasks. We retry ourselves, after re-reading the task keys.
NO_RETRY = {"max_retries": 0}


class StudioUnavailable(FramestanceError, ConnectionError):
    pass


class StudioAuthError(FramestanceError, PermissionError):
    pass


class StudioRequestError(FramestanceError, RuntimeError):
    pass


# ---- the labeling interface, generated from the codebook --------------------------------------


#: Hotkeys, measured in a real browser at 1366x768 (tests/test_browser.py). Frames: a key each
#: (shift+key = primary frame, alt+shift+key = frame-cue span label); tone; one keyboard row per
#: stance target in the codebook's value order (shift + the row's first key = its evidence span label).
#: Avoided: Label Studio's own keys (u, r, enter, backspace, delete, alt+r/h/l/m) and alt+digit (browser tabs).
FRAME_KEYS = list("1234567890qwety")
TONE_KEYS = list("iop")
STANCE_ROWS = ["asdf", "ghjk", "zxcv", "bnml"]
RELEVANCE_KEY = "shift+n"  # "not about the issue"

#: Compact columns so that every control group and the article fit at 1366x768 above the Submit bar.
#: Class names of Label Studio's front end (lsf-*, ant-*) are internal: the browser test catches a change.
#: Label Studio sanitises <Style> as HTML, so a child combinator (the greater-than sign) is lost: none here.
STYLE = """
.fs-root { display: flex; gap: 10px; align-items: flex-start; font-size: 13px; }
.fs-article { flex: 1 1 auto; min-width: 0; }
.fs-text .lsf-richtext { max-height: calc(100vh - 328px); overflow-y: auto; padding-right: 6px; }
.fs-meta .lsf-richtext__line { font-size: 11.5px; color: #666; }
.fs-meta .lsf-richtext__container { padding: 0 !important; }
.fs-col { flex: 0 0 190px; }
.fs-col2 { flex: 0 0 272px; }
.fs-h * { font-size: 11.5px !important; line-height: 14px !important; margin: 7px 0 2px !important; font-weight: 600 !important; color: #555; }
.fs-col .lsf-choice, .fs-col2 .lsf-choice, .fs-col .ant-checkbox-wrapper, .fs-col2 .ant-radio-wrapper { font-size: 12.5px; line-height: 16px; margin: 0; padding: 0; }
.fs-col2 .lsf-choices_layout_inline .lsf-choice { margin-right: 4px; }
.fs-col2 sup.lsf-hint { display: none; }
.fs-col2 .ant-radio-wrapper span.ant-radio + * { padding: 0 2px 0 4px; }
.fs-spans .lsf-label { font-size: 11.5px; padding: 0 4px; margin: 0 3px 3px 0; line-height: 17px; }
.fs-spans .lsf-label__hotkey { font-size: 10px; opacity: .75; }
.fs-title * { margin: 0 0 2px !important; font-size: 16px !important; line-height: 20px !important; }
.fs-info { margin: 0 0 4px; }
.fs-info .ant-collapse { display: flex; flex-wrap: wrap; gap: 0 18px; background: none; border: 0; border-radius: 0; }
.fs-info .ant-collapse-item { display: contents; }
.fs-info .ant-collapse-header { order: 0; padding: 0 !important; font-size: 12px; line-height: 18px !important; color: #1f5fb4 !important; }
.fs-info .ant-collapse-expand-icon { width: 14px !important; height: 18px !important; padding: 0 !important; }
.fs-info .ant-collapse-content { order: 1; flex: 0 0 100%; margin: 3px 0 2px; border: 1px solid #d9d9d9 !important; border-radius: 4px;
  max-height: calc(100vh - 200px); overflow-y: auto; background: #fcfcfc; }
.fs-info .ant-collapse-content-box { padding: 4px 10px 8px !important; }
.fs-doc * { font-size: 12.5px !important; line-height: 17px !important; margin: 0 !important; color: #222; font-weight: 400 !important; }
.fs-doc .fs-p { margin: 0 0 6px !important; }
.fs-doc .fs-def { margin: 0 0 3px !important; }
.fs-doc .fs-def *, .fs-doc .fs-p * { display: inline; }
.fs-doc .fs-def :first-child, .fs-doc .fs-issue :first-child { font-weight: 600 !important; }
.fs-doc .fs-sec * { font-size: 12px !important; font-weight: 600 !important; color: #555; margin: 8px 0 2px !important; }
"""


def short_name(name: str) -> str:
    """What the compact column shows ("Legality" for "Legality, constitutionality and
    jurisprudence"); results store the full codebook name (the `alias`)."""
    head = name.split(",")[0]
    if " and " in head and not head.startswith("Quality of life"):
        head = head.split(" and ")[0]
    return head


def labeling_config(cb: Codebook, votes: bool = False) -> str:
    """Label Studio XML for the codebook, laid out for a 1366x768 screen: the article with the two
    span label sets above it; the primary frame (which counts as present: `pull` adds it to the
    frames, so a primary frame outside the marked frames cannot exist) and the other frames; tone and
    one row per stance target; above them a "not about the issue" box that hides them all.
    Hotkeys on every group, definitions as hints (a tooltip on hover over a checkbox, a radio or an
    option of the primary-frame list), plain-word messages for what is required. Above the title,
    two panels, collapsed at load (one opens at a time, pushing the article down, not the
    controls): the issue and the codebook's instructions; every label's name and definition. With
    `votes` (the adjudication project), each annotator's labels (pseudonymised, `$votes`) are
    shown above the article."""
    from xml.sax.saxutils import escape

    def attrs(**kw) -> str:
        return " ".join(f'{k}="{escape(str(v), {chr(34): "&quot;"})}"' for k, v in kw.items() if v is not None)

    def item(tag: str, lab, hotkey: str | None, display: str | None = None) -> str:
        shown = display or lab.name
        return f"<{tag} {attrs(value=shown, alias=lab.name if shown != lab.name else None, hint=lab.definition, hotkey=hotkey)}/>"

    def keys(labels, pool):
        return [(lab, pool[i] if i < len(pool) else None) for i, lab in enumerate(labels)]

    def header(text: str) -> str:
        return f'<View className="fs-h"><Header {attrs(value=text, size="6")}/></View>'

    def static(text: str) -> str:
        # Label Studio reads `$name` in a value as task data: a full-width dollar sign shows the same
        return text.replace("$", "\uff04")

    def line(cls: str, *parts: str) -> str:
        return f'<View className="{cls}">' + "".join(f"<Header {attrs(value=static(t), size='6')}/>" for t in parts) + "</View>"

    def definitions(title: str, labels, keys_: list | None = None) -> list[str]:
        out = [line("fs-sec", title)]
        for i, lab in enumerate(labels):
            key = keys_[i] if keys_ and i < len(keys_) else None
            out.append(line("fs-def", f"{lab.name}" + (f" [{key}]" if key else "") + ": ", lab.definition))
        return out

    frame_keys = keys(cb.frames, FRAME_KEYS)
    # "not about the issue" hides every other question; Label Studio does not require a control
    # inside a hidden View, so such an annotation submits with its relevance alone
    not_relevant = cb.relevance[1]
    coded = attrs(visibleWhen="choice-unselected", whenTagName=cb.RELEVANCE, whenChoiceValue=not_relevant.name)
    # the issue, the instructions and every label's definition, from the codebook, collapsed at load
    info = ['<View className="fs-info">', '<Collapse bordered="false">',
            f"<Panel {attrs(value='The issue and the instructions' if cb.instructions else 'The issue')}>",
            '<View className="fs-doc">',
            line("fs-p fs-issue", "The issue: ", cb.issue)]
    info += [line("fs-p", para) for para in cb.instructions.split("\n\n") if para]
    info += ["</View>", "</Panel>", f"<Panel {attrs(value='The codebook: every label and its definition')}>",
             '<View className="fs-doc">']
    info += definitions("Relevance (one box: ticked = not about the issue)", cb.relevance)
    info += definitions("Frames (primary frame: shift + the key)", cb.frames, FRAME_KEYS)
    info += definitions("Tone toward the issue", cb.tone, TONE_KEYS)
    info += definitions("Stance values (one per target; each target's row of keys, in this order)", cb.stance_values)
    info += definitions("Stance targets", cb.targets)
    info += ["</View>", "</Panel>", "</Collapse>", "</View>"]
    out = ["<View>", f"<Style>{STYLE}</Style>", '<View className="fs-root">', '<View className="fs-article">', *info,
           '<View className="fs-title"><Header value="$title" size="4"/></View>',
           '<View className="fs-meta"><Text name="meta" value="$meta"/></View>',
           *(['<View className="fs-votes">', header("The annotators' labels (decide, then label as usual)"),
              '<Text name="votes" value="$votes"/>', "</View>"] if votes else []),
           f'<View className="fs-spans" {coded}>', header("Span labels: 1) pick a label  2) drag over the text"),
           f"<Labels {attrs(name=cb.FRAME_SPANS, toName='text')}>"]
    out += [item("Label", f, k and "alt+shift+" + k, short_name(f.name)) for f, k in frame_keys]
    out += ["</Labels>", f"<Labels {attrs(name=cb.EVIDENCE, toName='text')}>"]
    out += [item("Label", t, row and "shift+" + row[0]) for t, row in keys(cb.targets, STANCE_ROWS)]
    out += ["</Labels>", "</View>", '<View className="fs-text">',
            f"<Text {attrs(name='text', value='$text', granularity='word')}/>", "</View>", "</View>"]
    out += ['<View className="fs-col">', '<View className="fs-rel">',
            f"<Choices {attrs(name=cb.RELEVANCE, toName='text', choice='multiple')}>",
            item("Choice", not_relevant, RELEVANCE_KEY),
            "</Choices>", "</View>", f"<View {coded}>",
            header("Primary frame (counts as present) · shift + frame key"),
            f"<Choices {attrs(name=cb.PRIMARY, toName='text', choice='single', layout='select', required='true', requiredMessage='Pick the primary frame: the list, or shift + the frame key.')}>"]
    out += [item("Choice", f, k and "shift+" + k, short_name(f.name)) for f, k in frame_keys]
    out += ["</Choices>", header("Other frames present · keys " + " ".join(k for _, k in frame_keys if k).replace("1 2 3 4 5 6 7 8 9 0", "1–0")),
            f"<Choices {attrs(name=cb.FRAMES, toName='text', choice='multiple', showInline='false')}>"]
    out += [item("Choice", f, k, short_name(f.name)) for f, k in frame_keys]
    out += ["</Choices>", "</View>", "</View>", f'<View className="fs-col2" {coded}>',
            header("Tone toward the issue · " + " ".join(k for _, k in keys(cb.tone, TONE_KEYS) if k)),
            f"<Choices {attrs(name=cb.TONE, toName='text', choice='single-radio', showInline='true', required='true', requiredMessage='Pick the tone of the article.')}>"]
    out += [item("Choice", t, k) for t, k in keys(cb.tone, TONE_KEYS)]
    out += ["</Choices>"]
    for target, row in keys(cb.targets, STANCE_ROWS):
        out += [header(f"Stance toward {target.name}" + (" · " + " ".join(row) if row else "")),
                f"<Choices {attrs(name=cb.stance_control(target.id), toName='text', choice='single-radio', showInline='true', required='true', requiredMessage=f'Pick a stance toward {target.name} (or not addressed).')}>"]
        out += [item("Choice", v, k) for v, k in keys(cb.stance_values, list(row or ""))]
        out += ["</Choices>"]
    out += ["</View>", "</View>", "</View>"]
    return "\n".join(out) + "\n"


def check_config(xml: str) -> None:
    """Raise ValueError when the SDK's LabelInterface finds the config invalid."""
    from label_studio_sdk.label_interface import LabelInterface

    LabelInterface(xml).validate()


def config_labels(xml: str) -> dict[str, set[str]]:
    """Control name -> the label values it offers."""
    from label_studio_sdk.label_interface import LabelInterface

    li = LabelInterface(xml)
    return {c.name: set(getattr(c, "labels", None) or []) for c in li.controls}


# ---- the client ---------------------------------------------------------------------------------

#: Label Studio's own bounds on a project title (settings PROJECT_TITLE_MIN_LEN / MAX_LEN).
TITLE_MIN, TITLE_MAX = 3, 50


def title_problem(title: str) -> str | None:
    """Why Label Studio would refuse `title` as a project title, or None."""
    if len(title) < TITLE_MIN:
        return f"project title {title!r} is shorter than {TITLE_MIN} characters (Label Studio refuses it)"
    if len(title) > TITLE_MAX:
        return f"project title {title!r} is longer than {TITLE_MAX} characters (Label Studio refuses it)"
    return None



class Client:
    def __init__(self, url: str, api_key: str, timeout: float = 600.0):
        from label_studio_sdk import LabelStudio

        self.url = url.rstrip("/")
        self.ls = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)

    # Every SDK call goes through here: connection errors and 5xx are retried with backoff,
    # 401/403 become StudioAuthError, and messages never carry the key.
    def call(self, fn: Callable, *args, retries: int = 4, **kwargs) -> Any:
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        delay = 0.5
        for attempt in range(retries + 1):
            try:
                return fn(*args, **kwargs)
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectTimeout) as exc:
                if attempt == retries:
                    raise StudioUnavailable(f"Label Studio is not reachable at {self.url} ({type(exc).__name__})") from None
            except ApiError as exc:
                if exc.status_code in (401, 403):
                    raise StudioAuthError(f"Label Studio at {self.url} rejected the API key (HTTP {exc.status_code})") from None
                if exc.status_code and exc.status_code >= 500 and attempt < retries:
                    pass
                else:
                    body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body)[:300]
                    raise StudioRequestError(f"Label Studio answered HTTP {exc.status_code}: {body}") from None
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")

    def whoami(self) -> dict:
        me = self.call(self.ls.users.whoami)
        return {"id": me.id, "email": me.email}

    # ---- projects --------------------------------------------------------------------------
    def projects(self, containing: str = "") -> dict[str, int]:
        """title -> id of the projects whose title contains `containing` (the server's filter)."""
        found = self.call(lambda: list(self.ls.projects.list(title=containing or None, page_size=100)))
        return {p.title: p.id for p in sorted(found, key=lambda p: p.id) if p.title is not None}

    def find_project(self, title: str) -> int | None:
        return self.projects(title).get(title)

    def create_project(self, title: str, config: str, description: str = "") -> int:
        p = self.call(self.ls.projects.create, title=title, label_config=config, description=description,
                      request_options=NO_RETRY, retries=0)
        return p.id

    def project_config(self, pid: int) -> str:
        return self.project_info(pid)["label_config"]

    def project_info(self, pid: int) -> dict[str, str]:
        """The project's labeling config and description (one request)."""
        p = self.call(self.ls.projects.get, id=pid)
        return {"label_config": p.label_config or "", "description": p.description or ""}

    def set_description(self, pid: int, description: str) -> None:
        self.call(self.ls.projects.update, id=pid, description=description)

    def update_config(self, pid: int, config: str) -> None:
        self.call(self.ls.projects.update, id=pid, label_config=config)

    def validate_config(self, pid: int, config: str) -> None:
        """The server's own check (it refuses a config that would orphan existing labels)."""
        self.call(self.ls.projects.validate_label_config, id=pid, label_config=config, retries=0)

    def set_overlap(self, pid: int, annotators: int, percentage: int) -> None:
        self.call(self.ls.projects.update, id=pid, maximum_annotations=annotators,
                  overlap_cohort_percentage=percentage)

    def project_settings(self, pid: int) -> dict:
        p = self.call(self.ls.projects.get, id=pid)
        return {"maximum_annotations": p.maximum_annotations, "overlap_cohort_percentage": p.overlap_cohort_percentage,
                "task_number": getattr(p, "task_number", None)}

    # ---- tasks ------------------------------------------------------------------------------
    def task_keys(self, pid: int, fields: Iterable[str] = ("article_id", "text_sha256")) -> dict[str, dict]:
        """article_id -> {task id, fields}: the idempotency keys, read from the server.

        Pages of `GET /api/tasks/?include=id,data` through the SDK's own authenticated HTTP
        client, read as plain JSON: the SDK's pager validates every task into a model, which
        costs about a third of the listing (4.6 s -> 3.4 s for 10,000 tasks here)."""
        from label_studio_sdk.core.api_error import ApiError

        http = self.ls._client_wrapper.httpx_client  # the SDK's client: auth headers, base URL, timeout

        def page(n: int) -> dict:
            r = http.request("api/tasks/", method="GET",
                             params={"project": pid, "include": "id,data", "page_size": 1000, "page": n})
            if r.status_code == 404 and n > 1:  # past the last page
                return {"tasks": []}
            if r.status_code >= 400:
                raise ApiError(status_code=r.status_code, headers=dict(r.headers), body=r.text[:300])
            try:
                return r.json()
            except ValueError:
                raise StudioRequestError(f"Label Studio answered page {n} of the task list with something that is not JSON") from None

        out: dict[str, dict] = {}
        n = 1
        while True:
            body = self.call(page, n)
            tasks = body.get("tasks") or []
            for t in sorted(tasks, key=lambda t: t["id"]):
                data = t.get("data") or {}
                if "article_id" in data:
                    key = str(data["article_id"])
                    if key in out:  # a second task for one article (a push that raced another)
                        out[key].setdefault("duplicate_ids", []).append(t["id"])
                    else:
                        out[key] = {"id": t["id"], **{f: data.get(f) for f in fields}}
            total = body.get("total")
            if not tasks or (total is not None and n * 1000 >= total):
                return out
            n += 1

    def import_tasks(self, pid: int, tasks: list[dict]) -> list[int]:
        """POST /api/projects/ID/import (never retried: see NO_RETRY) through the SDK's authenticated
        HTTP client, the body encoded once by `json` (the SDK's own encoder walks every value of
        every task in Python first, about 75 µs a task)."""
        from label_studio_sdk.core.api_error import ApiError
        from label_studio_sdk.core.request_options import RequestOptions

        http = self.ls._client_wrapper.httpx_client

        def post():
            r = http.request(f"api/projects/{pid}/import", method="POST", params={"return_task_ids": "true"},
                             content=json.dumps(tasks, ensure_ascii=False).encode(),
                             headers={"Content-Type": "application/json"},
                             request_options=RequestOptions(max_retries=0))
            if r.status_code >= 400:
                raise ApiError(status_code=r.status_code, headers=dict(r.headers), body=r.text[:300])
            return r.json()

        res = self.call(post, retries=0)
        return list(res.get("task_ids") or [])

    def unannotated(self, ids: list[int]) -> list[int]:
        """Those of the tasks `ids` that nobody has annotated or started (no annotation, no draft)."""
        out = []
        for tid in ids:
            t = self.call(self.ls.tasks.get, id=str(tid))
            if not (getattr(t, "total_annotations", 0) or getattr(t, "annotations", None) or getattr(t, "drafts", None)):
                out.append(tid)
        return out

    def delete_tasks(self, pid: int, ids: list[int]) -> None:
        if ids:
            self.call(self.ls.actions.create, id="delete_tasks", project=pid,
                      selected_items={"all": False, "included": ids})

    # ---- export -------------------------------------------------------------------------------
    def export_snapshot(self, pid: int, title: str = "framestance pull") -> bytes:
        """Every task with all annotations, drafts and predictions (full objects), as JSON bytes."""
        exp = self.call(
            self.ls.projects.exports.create, id=pid, title=title,
            serialization_options={"drafts": {"only_id": False}, "predictions": {"only_id": False},
                                   "annotations__completed_by": {"only_id": False}},
            task_filter_options={"only_with_annotations": False},
            request_options=NO_RETRY, retries=0,
        )
        for _ in range(600):
            status = self.call(self.ls.projects.exports.get, id=pid, export_pk=exp.id).status
            if status == "completed":
                break
            if status == "failed":
                raise StudioRequestError(f"export {exp.id} of project {pid} failed on the server")
            time.sleep(0.5)
        chunks = self.call(lambda: list(self.ls.projects.exports.download(id=pid, export_pk=exp.id, export_type="JSON")))
        self.call(self.ls.projects.exports.delete, id=pid, export_pk=exp.id)
        return b"".join(chunks)

    # ---- users and annotations ---------------------------------------------------------------
    def users(self) -> dict[str, int]:
        """e-mail (lower case) -> user id, for every user of the server."""
        return {str(u.email).lower(): u.id for u in self.call(self.ls.users.list) if u.email}

    def ensure_user(self, email: str) -> int:
        uid = self.users().get(email.lower())
        if uid is not None:
            return uid
        u = self.call(self.ls.users.create, username=email.split("@")[0], email=email, retries=0)
        return u.id

    def invite_link(self) -> str:
        """The organisation's sign-up link (anyone holding it can create an account and join)."""
        http = self.ls._client_wrapper.httpx_client
        r = self.call(http.request, "api/invite", method="GET")
        if r.status_code >= 400:
            raise StudioRequestError(f"Label Studio answered HTTP {r.status_code} to the invite link request")
        return self.url + str(r.json().get("invite_url", ""))

    def annotate(self, task_id: int, result: list[dict], user_id: int, lead_time: float | None = None,
                 was_cancelled: bool = False) -> int:
        a = self.call(self.ls.annotations.create, id=task_id, result=result, completed_by=user_id,
                      lead_time=lead_time, was_cancelled=was_cancelled, retries=0)
        return a.id
