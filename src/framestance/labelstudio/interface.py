"""The labeling interface: Label Studio XML generated from the codebook, and the SDK's own check of it.

One interface for every queue; the adjudication project's adds the annotators' labels
(`votes=True`). Hotkeys and layout are measured in a real browser (tests/test_browser.py).
"""

from __future__ import annotations

from ..codebook import Codebook

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
.fs-adj .fs-text .lsf-richtext { max-height: calc(100vh - 250px); }
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
.fs-vote * { font-size: 11.5px !important; line-height: 14px !important; margin: 1px 0 3px !important; font-weight: 400 !important; color: #1f5fb4; }
.fs-who * { font-size: 11.5px !important; line-height: 14px !important; margin: 0 0 2px !important; font-weight: 400 !important; color: #555; }
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


#: A codebook of yes/no questions: one compact row per question (its id and name, then Yes / No).
QUESTION_STYLE = """
.fs-qcol { flex: 0 0 330px; max-height: calc(100vh - 150px); overflow-y: auto; }
.fs-q { display: flex; align-items: center; gap: 6px; }
.fs-qh { flex: 0 0 170px; }
.fs-qh * { font-size: 12.5px !important; line-height: 16px !important; margin: 0 !important; font-weight: 400 !important; color: #222; }
.fs-q .ant-radio-wrapper { font-size: 12px; line-height: 16px; margin: 0 2px 0 0; }
.fs-q .lsf-choices { margin: 0; }
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
    `votes` (the adjudication project), each control group also shows every annotator's label for
    it on one line under its heading, in the controls' order, marked agreed or disputed
    (`$vote_<control>`, made by adjudicate.votes), and a line above the title says who is who
    (`$vote_who`); agreed labels come filled in (a prediction), so a dispute is decided where it is
    answered.

    A codebook of another shape gets only what it has: no primary frame, tone or stance controls
    where it has none; with `questions`, one row per question (Yes / No, required, the question as
    the hint) instead of the frame controls, its frames following by rule in `pull`."""
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

    def vote(control: str) -> list[str]:
        # the annotators' labels for this control, from the task (`vote_<control>`), under its heading
        return [f'<View className="fs-vote"><Header value="$vote_{control}" size="6"/></View>'] if votes else []

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
    if cb.questions:
        info += definitions("Frames (present by the answers to their questions)", cb.frames)
        info += [line("fs-def", f"{f.name}: ", f"at least {k} of " + ", ".join(of) + " answered yes")
                 for (_, k, of), f in zip(cb.rules, cb.frames)]
        info += definitions("Questions (answer each yes or no)", [q.__class__(q.id, f"{q.id} {q.name}", q.definition)
                                                                  for q in cb.questions])
    else:
        info += definitions("Frames" + (" (primary frame: shift + the key)" if cb.primary else ""), cb.frames, FRAME_KEYS)
    if cb.tone:
        info += definitions("Tone toward the issue", cb.tone, TONE_KEYS)
    if cb.targets:
        info += definitions("Stance values (one per target; each target's row of keys, in this order)", cb.stance_values)
        info += definitions("Stance targets", cb.targets)
    info += ["</View>", "</Panel>", "</Collapse>", "</View>"]
    out = ["<View>", f"<Style>{STYLE + (QUESTION_STYLE if cb.questions else '')}</Style>", f'<View className="fs-root{" fs-adj" if votes else ""}">', '<View className="fs-article">', *info,
           *(['<View className="fs-who"><Header value="$vote_who" size="6"/></View>'] if votes else []),
           '<View className="fs-title"><Header value="$title" size="4"/></View>',
           '<View className="fs-meta"><Text name="meta" value="$meta"/></View>',
           f'<View className="fs-spans" {coded}>',
           # deciding a dispute rarely needs a span: there the span labels fold away, leaving the article room
           *(['<View className="fs-info">', '<Collapse bordered="false">', "<Panel value='Span labels (optional)'>"] if votes
             else [header("Span labels: 1) pick a label  2) drag over the text")]),
           f"<Labels {attrs(name=cb.FRAME_SPANS, toName='text')}>"]
    out += [item("Label", f, k and "alt+shift+" + k, short_name(f.name)) for f, k in frame_keys]
    out += ["</Labels>"]
    if cb.targets:  # stance evidence: a span label per target
        out += [f"<Labels {attrs(name=cb.EVIDENCE, toName='text')}>"]
        out += [item("Label", t, row and "shift+" + row[0]) for t, row in keys(cb.targets, STANCE_ROWS)]
        out += ["</Labels>"]
    out += [*(["</Panel>", "</Collapse>", "</View>"] if votes else []), "</View>", '<View className="fs-text">',
            f"<Text {attrs(name='text', value='$text', granularity='word')}/>", "</View>", "</View>"]
    out += [f'<View className="{"fs-col fs-qcol" if cb.questions else "fs-col"}">', '<View className="fs-rel">',
            f"<Choices {attrs(name=cb.RELEVANCE, toName='text', choice='multiple')}>",
            item("Choice", not_relevant, RELEVANCE_KEY),
            "</Choices>", *vote(cb.RELEVANCE), "</View>", f"<View {coded}>"]
    if cb.questions:  # frames follow from the answers (pull applies the rules): one yes/no per question
        yes_no = (cb.YES.capitalize(), cb.NO.capitalize())
        out += [header("Answer every question · yes only when the article says so")]
        for q in cb.questions:
            control = cb.question_control(q.id)
            out += ['<View className="fs-q">',
                    f"<View className=\"fs-qh\"><Header {attrs(value=static(f'{q.id} {q.name}'), size='6')}/></View>",
                    *vote(control),
                    f"<Choices {attrs(name=control, toName='text', choice='single-radio', showInline='true', required='true', requiredMessage=f'Answer {q.id}: {q.definition}')}>",
                    *(f"<Choice {attrs(value=v, hint=q.definition)}/>" for v in yes_no), "</Choices>", "</View>"]
        out += ["</View>", "</View>"]
    else:
        if cb.primary:
            out += [header("Primary frame (counts as present) · shift + frame key"), *vote(cb.PRIMARY),
                    f"<Choices {attrs(name=cb.PRIMARY, toName='text', choice='single', layout='select', required='true', requiredMessage='Pick the primary frame: the list, or shift + the frame key.')}>"]
            out += [item("Choice", f, k and "shift+" + k, short_name(f.name)) for f, k in frame_keys]
            out += ["</Choices>"]
        out += [header(("Other frames present" if cb.primary else "Frames present") + " · keys "
                       + " ".join(k for _, k in frame_keys if k).replace("1 2 3 4 5 6 7 8 9 0", "1–0")),
                *vote(cb.FRAMES),
                f"<Choices {attrs(name=cb.FRAMES, toName='text', choice='multiple', showInline='false')}>"]
        out += [item("Choice", f, k, short_name(f.name)) for f, k in frame_keys]
        out += ["</Choices>", "</View>", "</View>"]
    if not cb.tone and not cb.targets:
        out += ["</View>", "</View>"]
        return "\n".join(out) + "\n"
    out += [f'<View className="fs-col2" {coded}>']
    if cb.tone:
        out += [header("Tone toward the issue · " + " ".join(k for _, k in keys(cb.tone, TONE_KEYS) if k)), *vote(cb.TONE),
                f"<Choices {attrs(name=cb.TONE, toName='text', choice='single-radio', showInline='true', required='true', requiredMessage='Pick the tone of the article.')}>"]
        out += [item("Choice", t, k) for t, k in keys(cb.tone, TONE_KEYS)]
        out += ["</Choices>"]
    for target, row in keys(cb.targets, STANCE_ROWS):
        out += [header(f"Stance toward {target.name}" + (" · " + " ".join(row) if row else "")),
                *vote(cb.stance_control(target.id)),
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
