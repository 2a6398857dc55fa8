"""An isolated team on real servers: the lead's Label Studio and one per annotator, each with its
own database, port, secret key and admin token.

The isolation probe: logged in as annotator A (through the real login form, then with A's own API
token), every path toward B's work fails on every server (the project list, B's project, tasks and
annotations by id, exports, the Data Manager), and A's server holds nothing of B. The same probe
against the project-per-annotator mode (one server) prints what A can read there, and must read
B's work: the README's statement about that mode is this measurement. Then: push makes each
queue on its annotator's server, pull merges every server into one snapshot (ids unique across the
team, pseudonyms from e-mails), a server of the team that is down fails the pull naming it and
writes nothing, and `Team.down` stops exactly the team's servers.
"""

from __future__ import annotations

import json
import shutil
import uuid

import httpx
import pyarrow.parquet as pq
import pytest

from framestance.codebook import load

from .conftest import ROOT, choices_result, subset_corpus

CB = load(ROOT / "schemas" / "codebook.yaml")


def login(url: str, email: str, password: str) -> httpx.Client:
    """A browser-like session through Label Studio's login form (cookies, CSRF, Referer)."""
    s = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    s.get("/user/login/")
    r = s.post("/user/login/", data={"email": email, "password": password,
                                      "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")},
               headers={"Referer": url + "/user/login/"})
    assert r.status_code == 302 and "/user/login" not in r.headers.get("location", ""), f"login of {email} failed"
    return s


def token_of(session: httpx.Client) -> str:
    r = session.get("/api/current-user/token")
    assert r.status_code == 200, r.text
    return r.json()["token"]


def probe(url: str, headers: dict, cookies: httpx.Cookies | None, others: dict[str, int], own: set[str]) -> list[str]:
    """Every path of `url` toward the projects `others` (title -> id) that answers with content;
    `own` are the e-mails a user list may show. Empty: nothing of anyone else is readable."""
    c = httpx.Client(base_url=url, headers=headers, cookies=cookies, follow_redirects=False, timeout=30)
    read = []

    def get(path: str, params: dict | None = None):
        r = c.get(path, params=params)
        if r.status_code != 200:
            return r, None
        try:
            return r, r.json()
        except ValueError:
            return r, r.content or None  # a download (an export), or a page

    r, body = get("/api/projects/")
    for p in (body or {}).get("results", []) if isinstance(body, dict) else []:
        if p["title"] in others:
            read.append(f"/api/projects/ lists {p['title']!r}")
    r, body = get("/api/users/")
    for u in body if isinstance(body, list) else []:
        if u.get("email") not in own:
            read.append(f"/api/users/ shows {u.get('email')}")
    for title, pid in others.items():
        for path, params in ((f"/api/projects/{pid}/", None), ("/api/tasks/", {"project": pid}),
                             (f"/api/projects/{pid}/export", {"exportType": "JSON", "download_all_tasks": "true"}),
                             ("/api/dm/views/", {"project": pid}), (f"/api/projects/{pid}/tasks/", None)):
            r, body = get(path, params)
            if r.status_code == 200 and body:
                if isinstance(body, dict) and body.get("tasks") == [] or body == []:
                    continue
                read.append(f"{path} of {title!r}: HTTP 200")
    # annotations by id: any one on this server that an allowed user did not write
    r, body = get("/api/users/")
    mine = {u["id"] for u in body if u.get("email") in own} if isinstance(body, list) else set()
    for ann_id in range(1, 40):
        r, body = get(f"/api/annotations/{ann_id}/")
        if isinstance(body, dict) and body.get("completed_by") not in (None, *mine):
            read.append(f"/api/annotations/{ann_id}/ by user {body['completed_by']}")
    return read


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def team(request, studio, tmp_path_factory):
    """A lead server with two annotators on servers of their own and an adjudicator on the lead's:
    on SQLite (a copy of the session's migrated template) and on a local PostgreSQL (its own cluster,
    migrated here: about 30 s)."""
    from framestance.labelstudio.server import Connection, LocalStudio
    from framestance.labelstudio.team import Team

    session_home, conn = studio
    if request.param == "postgresql":
        from framestance.labelstudio.postgres import PostgresError, pg_bin

        try:
            pg_bin()
        except PostgresError as exc:  # scripts/test installs it where it may (root)
            pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("team") / ".studio"
    root.mkdir()
    if request.param == "sqlite":
        shutil.copytree(session_home.template, root / "template")  # migrated once per session, not again
        LocalStudio(root, venv=session_home.venv)._write_env(Connection("", conn.api_key, conn.email, conn.password))
    t = Team(root, venv=session_home.venv)
    t.up(say=print, database=request.param)
    tag = uuid.uuid4().hex[:6]
    logins = {lg.email: lg for lg in t.add([f"a-{tag}@example.org", f"b-{tag}@example.org"], isolation="server")}
    logins.update({lg.email: lg for lg in t.add([f"judge-{tag}@example.org"], role="adjudicator")})
    yield t, [logins[f"a-{tag}@example.org"], logins[f"b-{tag}@example.org"], logins[f"judge-{tag}@example.org"]]
    t.down()
    pg = t.lead.postgres()
    if pg is not None and pg.as_root:  # the cluster lives outside the temporary folder
        shutil.rmtree(pg.data, ignore_errors=True)


@pytest.fixture(scope="module")
def pushed(team, corpus200, tmp_path_factory):
    from framestance.labelstudio.client import Client
    from framestance.labelstudio.push import push, queue_title
    from framestance.pseudonym import Pseudonymiser

    t, (a, b, _judge) = team
    corpus = subset_corpus(corpus200, 6, tmp_path_factory.mktemp("team-corpus"))
    lead = t.lead.connection()
    name = "team-study"
    report = push(Client(lead.url, lead.api_key), corpus, name, CB, annotators=[a.email, b.email], overlap=2,
                  pseudonym=Pseudonymiser.of_home(t.home).of, lock_dir=t.home, team=t)
    assert report.created == 12 and set(report.queues) == {a.pseudonym, b.pseudonym}
    queues = {}
    for login_ in (a, b):
        server = t.server_of(login_.email)
        c = server.connection()
        session = login(c.url, login_.email, login_.password)
        client = Client(c.url, token_of(session))
        pid = client.find_project(queue_title(name, login_.pseudonym))
        me = client.whoami()["id"]
        for k in sorted(client.task_keys(pid).values(), key=lambda k: k["id"])[:3]:  # each annotates 3 of 6
            client.annotate(k["id"], choices_result(CB, "economic", "neutral", "favor"), me, lead_time=20.0)
        queues[login_.email] = (c.url, pid, session, client)
    return name, corpus, queues


def test_each_annotator_server_has_its_own_port_database_secret_key_and_admin_token(team):
    t, (a, b, judge) = team
    servers = t.servers()
    assert [s.name for s in servers] == ["lead", a.pseudonym, b.pseudonym]
    conns = [s.studio.connection() for s in servers]
    assert len({c.url for c in conns}) == 3 and len({c.api_key for c in conns}) == 3
    assert len({c.password for c in conns}) == 3
    keys = {(s.studio.data / ".env").read_text() for s in servers[1:]} | {(t.lead.template / ".env").read_text()}
    assert len(keys) == 3, "an annotator's server kept the lead's SECRET_KEY"
    databases = [s.studio.database() for s in servers]
    if databases[0]["engine"] == "postgresql":  # a database and a role each, each with its own password
        assert len({d["name"] for d in databases}) == 3 and len({c.db_password for c in conns}) == 3
        pg = t.lead.postgres()
        assert pg.running() and "listen_addresses = ''" in (pg.data / "postgresql.conf").read_text()
        assert oct(pg.secret_file.stat().st_mode & 0o777) == "0o600"
    else:
        assert all(d["engine"] == "sqlite" for d in databases)
        assert len({(s.studio.data / "label_studio.sqlite3").resolve() for s in servers}) == 3
    # the lead's admin token opens no annotator's server, and an annotator's admin token not the lead's
    assert httpx.get(conns[1].url + "/api/projects/", headers={"Authorization": f"Token {conns[0].api_key}"}).status_code == 401
    assert httpx.get(conns[0].url + "/api/projects/", headers={"Authorization": f"Token {conns[1].api_key}"}).status_code == 401
    # accounts: the adjudicator on the lead's server only; each annotator on their own only
    roles = json.loads(t.file.read_text())["members"]
    assert roles[judge.email]["role"] == "adjudicator" and roles[judge.email]["server"] is None
    assert oct(t.file.stat().st_mode & 0o777) == "0o600"
    from framestance.labelstudio.client import Client

    on = {s.name: set(Client(c.url, c.api_key).users()) for s, c in zip(servers, conns)}
    assert a.email in on[a.pseudonym] and a.email not in on["lead"] | on[b.pseudonym]
    assert judge.email in on["lead"] and judge.email not in on[a.pseudonym] | on[b.pseudonym]


def test_isolation_probe_a_reaches_nothing_of_b_on_any_server(team, pushed, studio):
    t, (a, b, _judge) = team
    name, _corpus, queues = pushed
    url_a, pid_a, session_a, client_a = queues[a.email]
    url_b, pid_b, _s, _c = queues[b.email]
    token_a = {"Authorization": f"Token {token_of(session_a)}"}
    admin = t.lead.connection().email
    # on A's own server, with A's token and with A's browser session: A's queue and nothing else
    titles = {p["title"] for p in httpx.get(url_a + "/api/projects/", headers=token_a).json()["results"]}
    assert titles == {f"{name} · {a.pseudonym}"}
    for how in ({"headers": token_a, "cookies": None}, {"headers": {}, "cookies": session_a.cookies}):
        others = {f"project {i}": i for i in range(1, 12) if i != pid_a}
        assert probe(url_a, how["headers"], how["cookies"], others, {a.email, admin}) == []
    # on B's server and on the lead's, A's token and A's session open nothing at all
    lead = t.lead.connection().url
    for url in (url_b, lead):
        for path in ("/api/projects/", f"/api/projects/{pid_b}/", f"/api/tasks/?project={pid_b}", "/api/annotations/1/",
                     f"/api/projects/{pid_b}/export?exportType=JSON", f"/api/dm/views/?project={pid_b}", "/api/users/"):
            assert httpx.get(url + path, headers=token_a).status_code == 401, (url, path)
            r = httpx.get(url + path, cookies=session_a.cookies)
            assert r.status_code in (401, 403) or (r.status_code == 302 and "/user/login" in r.headers["location"]), (url, path)
        page = httpx.get(url + f"/projects/{pid_b}/data", cookies=session_a.cookies)
        assert page.status_code == 302 and "/user/login" in page.headers["location"]


def test_the_same_probe_in_project_per_annotator_mode_reads_b(studio, studio_client, corpus200, tmp_path, capsys):
    """One server, a project per annotator: A's login reads B's queue and B's work. Printed."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.push import push, queue_title
    from framestance.pseudonym import Pseudonymiser

    home, conn = studio
    tag = uuid.uuid4().hex[:6]
    a, b = add_local(home, [f"pa-{tag}@example.org", f"pb-{tag}@example.org"])
    name = f"mode-{tag}"
    push(studio_client, subset_corpus(corpus200, 2, tmp_path / "c"), name, CB, annotators=[a.email, b.email], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of)
    pid_b = studio_client.find_project(queue_title(name, b.pseudonym))
    key = next(iter(studio_client.task_keys(pid_b).values()))
    studio_client.annotate(key["id"], choices_result(CB, "economic", "neutral", "favor"), b.user_id)
    session_a = login(conn.url, a.email, a.password)
    read = probe(conn.url, {"Authorization": f"Token {token_of(session_a)}"}, None,
                 {queue_title(name, b.pseudonym): pid_b}, {a.email, conn.email})
    with capsys.disabled():
        users = [r for r in read if r.startswith("/api/users/")]
        anns = [r for r in read if r.startswith("/api/annotations/")]
        print(f"\nproject-per-annotator mode, A's own token on the one server: {len(read)} reads toward others:",
              *[r for r in read if r not in users and r not in anns], f"/api/annotations/ID/: {len(anns)} of others' annotations",
              f"/api/users/: {len(users)} other accounts' e-mails", sep="\n  ")
    assert any("lists" in r for r in read) and any("export" in r for r in read)
    assert any(f"shows {b.email}" in r for r in read)


def test_pull_merges_every_server_with_unique_ids_and_refuses_a_server_that_is_down(team, pushed, tmp_path):
    from framestance.labelstudio.pull import PullError, run
    from framestance.labelstudio.team import ID_BLOCK

    t, (a, b, _judge) = team
    name, _corpus, queues = pushed
    report = run(name, tmp_path / "snaps", tmp_path / "tables", CB, t.home)
    assert report.source == "server" and set(report.projects) == {f"{name} · {a.pseudonym}", f"{name} · {b.pseudonym}"}
    ann = pq.read_table(tmp_path / "tables" / "annotations.parquet").to_pandas()
    assert sorted(ann["annotator"].value_counts().items()) == sorted({a.pseudonym: 3, b.pseudonym: 3}.items())
    assert ann["annotation_id"].is_unique and ann["task_id"].min() > ID_BLOCK
    snap = report.snapshot.read_bytes()
    assert a.email.encode() not in snap and b.email.encode() not in snap
    # the same pull again: the same snapshot file, nothing exported
    again = run(name, tmp_path / "snaps", tmp_path / "tables", CB, t.home)
    assert again.snapshot == report.snapshot and again.fetched == 0
    # A edits an annotation on A's server: the incremental pull exports that task alone, and equals a full pull
    _url, _pid, _session, client_a = queues[a.email]
    first = json.loads(client_a.export_snapshot(_pid))
    edited = next(x for x in first if x["annotations"])
    client_a.ls.annotations.update(id=edited["annotations"][0]["id"], result=choices_result(CB, "political", "negative", "against"))
    inc = run(name, tmp_path / "snaps", tmp_path / "tables", CB, t.home)
    full = run(name, tmp_path / "full", tmp_path / "full-tables", CB, t.home, full=True)
    assert inc.fetched == 1 and inc.snapshot.read_bytes() == full.snapshot.read_bytes()
    report = inc
    # B's server down: one line naming it, nothing written
    server_b = t.server_of(b.email)
    before = {p: p.read_bytes() for p in (tmp_path / "tables").iterdir()}
    snapshots = sorted((tmp_path / "snaps").rglob("*.json"))
    server_b.studio.down()
    try:
        with pytest.raises(PullError, match=f"server of {b.pseudonym}.*not running"):
            run(name, tmp_path / "snaps", tmp_path / "tables", CB, t.home)
        assert {p: p.read_bytes() for p in (tmp_path / "tables").iterdir()} == before
        assert sorted((tmp_path / "snaps").rglob("*.json")) == snapshots
    finally:
        server_b.studio.up()


def test_down_stops_exactly_the_team_and_up_brings_it_back_on_the_same_ports(team, studio):
    t, _logins = team
    urls = {s.name: s.studio.connection().url for s in t.servers()}
    stopped = t.down()
    pg = t.lead.postgres()
    assert sorted(stopped) == sorted([*urls, *(["postgresql"] if pg else [])])
    assert not any(s.studio.status()["running"] for s in t.servers())
    assert pg is None or not pg.running()
    assert studio[0].status()["healthy"], "the session's server was stopped too"
    conns = t.up(say=lambda m: None)
    assert {n: c.url for n, c in conns.items()} == urls


def test_in_a_browser_a_sees_only_their_own_queue_and_cannot_open_b(team, pushed, tmp_path):
    """Chromium at 1366x768, logged in through A's server's login form: the project list shows A's
    queue alone; B's server and the lead's ask for a login (A's is unknown there). The screenshot
    goes to FRAMESTANCE_SCREENSHOTS when set (docs/team-projects-1366x768.png)."""
    import os
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    t, (a, b, _judge) = team
    name, _corpus, queues = pushed
    url_a, pid_a, _s, _c = queues[a.email]
    url_b, pid_b, _s, _c = queues[b.email]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.goto(url_a + "/user/login/")
            page.fill("input[name=email]", a.email)
            page.fill("input[name=password]", a.password)
            with page.expect_navigation():
                page.click("button[type=submit], input[type=submit]")
            page.goto(url_a + "/projects/")
            page.wait_for_selector(f"text={name} · {a.pseudonym}", timeout=60000)
            page.wait_for_timeout(1000)
            shot = tmp_path / "team-projects-1366x768.png"
            page.screenshot(path=str(shot))
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                import shutil

                shutil.copy(shot, os.environ["FRAMESTANCE_SCREENSHOTS"])
            body = page.inner_text("body")
            assert f"{name} · {a.pseudonym}" in body and b.pseudonym not in body and b.email not in body
            # B's project on B's server, and the lead's projects, with A's browser: the login form
            for url in (f"{url_b}/projects/{pid_b}/data", f"{t.lead.connection().url}/projects/"):
                page.goto(url)
                assert "/user/login" in page.url, url
        finally:
            browser.close()


def test_postgresql_missing_or_unable_to_start_is_one_line_with_the_fix(studio, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from framestance.cli import app
    from framestance.labelstudio import postgres

    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path / "nowhere")
    res = CliRunner().invoke(app, ["studio", "up", "--database", "postgresql", "--home", str(tmp_path / "home")])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == (
        "error: PostgreSQL is not installed: `apt-get install postgresql` (Debian), then run this again")
    monkeypatch.undo()
    if not any(postgres.PG_ROOT.glob("*/bin/initdb")):
        return
    # a cluster whose configuration PostgreSQL refuses: one line naming its log, and no server started
    pg = postgres.LocalPostgres(tmp_path / "broken")
    pg.up()
    pg.down()
    with open(pg.data / "postgresql.conf", "a") as fh:
        fh.write("shared_buffers = nonsense\n")
    try:
        with pytest.raises(postgres.PostgresError, match=r"PostgreSQL did not start on port \d+ \(see .*server.log\)"):
            pg.up()
        assert not pg.running()
    finally:
        if pg.as_root:
            shutil.rmtree(pg.data, ignore_errors=True)


def test_cli_lists_the_team_with_roles_and_servers_and_status_names_every_server(team):
    from typer.testing import CliRunner

    from framestance.cli import app

    t, (a, b, judge) = team
    res = CliRunner().invoke(app, ["annotators", "list", "--home", str(t.home)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in res.output.splitlines() if line.count("│") >= 4 and "@" in line}
    assert rows[a.email][:2] == [a.pseudonym, "annotator"] and rows[a.email][2].startswith("own")
    assert rows.get(judge.email) == [judge.pseudonym, "adjudicator", "lead"], res.output
    res = CliRunner().invoke(app, ["studio", "status", "--home", str(t.home)])
    assert res.exit_code == 0 and f"{a.pseudonym} healthy: True" in res.output and f"{b.pseudonym} healthy: True" in res.output
