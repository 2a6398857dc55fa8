"""The client of a Label Studio server: with `interface.py`, the only modules that import `label_studio_sdk`.

Everything else (push, pull, tests, benchmarks) calls these methods, so an SDK upgrade touches
one file. Connection problems become `StudioUnavailable`, a rejected key `StudioAuthError`: both
carry one clear line and never the key itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import FramestanceError

# Imports and bulk calls must not be retried by the SDK: a committed import whose reply was lost
# would be sent twice and duplicate tasks. We retry ourselves, after re-reading the task keys.
NO_RETRY = {"max_retries": 0}


class StudioUnavailable(FramestanceError, ConnectionError):
    pass


class StudioAuthError(FramestanceError, PermissionError):
    pass


class StudioRequestError(FramestanceError, RuntimeError):
    pass


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
    def export_snapshot(self, pid: int, title: str = "framestance pull", task_ids: list[int] | None = None) -> bytes:
        """Every task (or only `task_ids`) with all annotations, drafts and predictions (full
        objects), as JSON bytes. Only some tasks: the export reads a Data Manager view that selects
        them (made for it, deleted after), so both shapes come from the server's one serializer."""
        view = None
        if task_ids is not None:
            http = self.ls._client_wrapper.httpx_client
            r = self.call(http.request, "api/dm/views/", method="POST",
                          json={"project": pid, "data": {}, "selected_items": {"all": False, "included": list(task_ids)}})
            if r.status_code >= 400:
                raise StudioRequestError(f"Label Studio answered HTTP {r.status_code} to a view of {len(task_ids)} tasks")
            view = r.json()["id"]
        try:
            return self._export(pid, title, {"only_with_annotations": False, **({"view": view} if view else {})})
        finally:
            if view is not None:
                self.call(self.ls._client_wrapper.httpx_client.request, f"api/dm/views/{view}/", method="DELETE")

    def _export(self, pid: int, title: str, task_filter: dict) -> bytes:
        exp = self.call(
            self.ls.projects.exports.create, id=pid, title=title,
            serialization_options={"drafts": {"only_id": False}, "predictions": {"only_id": False},
                                   "annotations__completed_by": {"only_id": False}},
            task_filter_options=task_filter,
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
