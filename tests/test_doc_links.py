"""Links between the Markdown files of the checkout land on a heading that exists (GitHub's anchors)."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = (".venv", ".cache", ".git", "gran_tf.egg-info", "node_modules")
LINK = re.compile(r"\]\(([^)\s#]*)#([^)\s]+)\)")


def github_anchor(heading):
    """GitHub's anchor of a heading: lower case, all but word characters, spaces and hyphens
    dropped, spaces made hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    """The anchors of a Markdown file's headings (repeats numbered -1, -2, ... as GitHub does)."""
    found, seen, fenced = set(), {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            match = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if match:
                anchor = github_anchor(match.group(1))
                count = seen.get(anchor, 0)
                seen[anchor] = count + 1
                found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def markdown_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP]
        yield from (os.path.join(folder, name) for name in files if name.endswith(".md"))


def test_the_anchor_rule_is_githubs():
    assert github_anchor("fit vs the Trainer (`python bench/fit_vs_trainer.py --rounds 3`)") == \
        "fit-vs-the-trainer-python-benchfit_vs_trainerpy---rounds-3"
    assert github_anchor("Earlier: BRC at 500 steps (2 CPU cores; see also BENCHMARKS.md)") == \
        "earlier-brc-at-500-steps-2-cpu-cores-see-also-benchmarksmd"


@pytest.mark.parametrize("path", sorted(os.path.relpath(p, ROOT) for p in markdown_files()))
def test_every_anchor_link_lands_on_a_heading(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    broken = []
    for target, anchor in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        linked = os.path.normpath(os.path.join(ROOT, os.path.dirname(path), target)) if target else os.path.join(ROOT, path)
        if linked.endswith(".md") and os.path.isfile(linked) and anchor not in anchors(linked):
            broken.append(f"{target or path}#{anchor}")
    assert not broken, broken
