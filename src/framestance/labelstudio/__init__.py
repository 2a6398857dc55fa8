"""The Label Studio side: everything between the corpus and the annotation tables.

Modules, lowest first (a module imports only those above it in this list, and the top-level
contracts: codebook, schema, pseudonym, isodate, io, errors):

    postgres    a local PostgreSQL cluster for the servers (optional; Debian's package)
    server      a real local Label Studio process: its venv, data folder, port, secrets (no SDK)
    client      the SDK adapter for one server: projects, tasks, exports, users
    interface   the labeling page's XML, generated from the codebook
    accounts    annotator and adjudicator logins on a server `studio up` runs
    team        the servers of a team: the lead's, and one per annotator when isolated
    push        articles -> every annotator's queue (stage 2)
    pull        every queue -> one scrubbed snapshot and flat tables (stage 3)
    adjudicate  disputed articles -> the adjudicators' project (stage 4d)
"""
