"""What ``lmctl init`` writes: schemas that its specs' editor hints reach, and CI files valid for
GitHub and GitLab (their published schemas), with the structure a user relies on and the
merge-request job's own commands run against a change.

The job scripts run as the runners run them (``bash -eo pipefail``) in a git repository with a
target branch on a local remote; ``lmctl`` is this lmctl, ``gh`` and ``curl`` are stubs that
record what they were asked to post.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lmctl import __version__
from lmctl.specs import json_schema
from lmctl_testkit import invoke

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "ci-schemas"
SPECS = {"arrays/appliances.yaml": "inventory", "arrays/mail.yaml": "array"}


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec repository ``lmctl init`` wrote into an empty directory."""
    root = tmp_path_factory.mktemp("scaffold") / "demo"
    outcome = invoke("init", str(root))
    assert outcome.exit_code == 0, outcome.output
    return root


def load(path: Path) -> dict[str, Any]:
    """The YAML file as GitHub and GitLab read it (YAML 1.2: ``on`` is a key, not true)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    if True in document:
        document["on"] = document.pop(True)
    return document


def github(root: Path) -> dict[str, Any]:
    return load(root / ".github" / "workflows" / "lmctl.yml")


def gitlab(root: Path) -> dict[str, Any]:
    return load(root / ".gitlab-ci.yml")


@pytest.mark.parametrize("kind", ["array", "inventory"])
def test_the_schemas_are_what_this_lmctl_generates(scaffolded: Path, kind: str) -> None:
    written = json.loads((scaffolded / "schema" / f"{kind}.schema.json").read_text())
    assert written == json_schema(kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "kind"), SPECS.items())
def test_each_spec_hint_reaches_its_schema_and_the_spec_satisfies_it(
    scaffolded: Path, name: str, kind: str
) -> None:
    spec = scaffolded / name
    first_line = spec.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first_line.startswith(prefix)
    schema_file = (spec.parent / first_line.removeprefix(prefix)).resolve()
    assert schema_file == (scaffolded / "schema" / f"{kind}.schema.json").resolve()
    jsonschema.validate(yaml.safe_load(spec.read_text()), json.loads(schema_file.read_text()))


def test_the_gitignore_keeps_the_state_directory_out(scaffolded: Path) -> None:
    ignored = (scaffolded / ".gitignore").read_text().splitlines()
    assert {".lmctl/", ".venv/", "plan.json", "plan.md"} <= set(ignored)


def test_a_hint_written_into_a_subdirectory_of_arrays_still_reaches_the_schema(
    scaffolded: Path,
) -> None:
    from lmctl.specs import schema_hint

    nested = scaffolded / "arrays" / "site-a"
    assert schema_hint("array", nested) == (
        "# yaml-language-server: $schema=../../schema/array.schema.json"
    )
    assert schema_hint("array", scaffolded / "arrays") == (
        "# yaml-language-server: $schema=../schema/array.schema.json"
    )


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        (".github/workflows/lmctl.yml", "github-workflows.json"),
        (".gitlab-ci.yml", "gitlab-ci.json"),
    ],
)
def test_the_ci_files_satisfy_their_platforms_schemas(
    scaffolded: Path, name: str, schema: str
) -> None:
    document = load(scaffolded / name)
    jsonschema.validate(document, json.loads((SCHEMAS / schema).read_text(encoding="utf-8")))


def test_both_ci_files_install_exactly_this_lmctl_from_its_wheel(scaffolded: Path) -> None:
    assert github(scaffolded)["env"]["LMCTL_VERSION"] == __version__
    assert gitlab(scaffolded)["variables"]["LMCTL_VERSION"] == __version__
    for text in (
        (scaffolded / ".github" / "workflows" / "lmctl.yml").read_text(),
        (scaffolded / ".gitlab-ci.yml").read_text(),
    ):
        # The wheel's file, never the name alone: PyPI's "lmctl" is another project.
        assert '"$LMCTL_WHEELS/lmctl-$LMCTL_VERSION-py3-none-any.whl"' in text
        assert "pip install lmctl" not in text


def test_plan_and_apply_run_on_different_runners_without_anything_the_change_controls(
    scaffolded: Path,
) -> None:
    """Before: one runner label for both, the wheel from the checkout, the token left in
    .git/config."""
    workflow, pipeline = github(scaffolded), gitlab(scaffolded)
    jobs = workflow["jobs"]
    assert jobs["plan"]["runs-on"] == ["self-hosted", "lmctl-plan"]
    assert jobs["apply"]["runs-on"] == ["self-hosted", "lmctl-apply"]
    assert (pipeline["plan"]["tags"], pipeline["apply"]["tags"]) == (
        ["lmctl-plan"],
        ["lmctl-apply"],
    )
    assert "tags" not in pipeline["default"]
    actionlint = load(scaffolded / ".github" / "actionlint.yaml")
    assert actionlint["self-hosted-runner"]["labels"] == ["lmctl-plan", "lmctl-apply"]
    checkouts = [
        step
        for job in jobs.values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/checkout")
    ]
    assert len(checkouts) == 3
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)
    for wheels in (workflow["env"]["LMCTL_WHEELS"], pipeline["variables"]["LMCTL_WHEELS"]):
        assert Path(wheels).is_absolute()  # the runner's, never the checkout's
    assert not any(".venv" in line for line in pipeline["default"]["before_script"])


def steps_by_name(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step.get("name", step.get("run", step.get("uses"))): step for step in job["steps"]}


def test_github_plans_pull_requests_comments_always_and_applies_the_default_branch(
    scaffolded: Path,
) -> None:
    jobs = github(scaffolded)["jobs"]
    assert set(jobs) == {"plan", "apply"}
    plan, apply = jobs["plan"], jobs["apply"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = steps_by_name(plan)
    comment = steps["Post validate and plan on the pull request"]
    assert comment["if"] == "${{ !cancelled() && steps.plan.outcome == 'success' }}"
    artifact = next(
        step for step in plan["steps"] if step.get("uses", "").startswith("actions/upload-artifact")
    )
    assert artifact["if"] == "${{ !cancelled() }}"
    # The job's own files only: never the state directory, whose backups hold private keys.
    assert artifact["with"]["path"].split() == [
        "validate.md",
        "plan.md",
        "plan.json",
        "plan-errors.txt",
    ]
    failing = steps["Fail on invalid specs, an error (1) or a safety block (3)"]
    assert "steps.validate.outputs.exitcode != '0'" in failing["if"]
    # Untrusted values reach the scripts through the environment, never as ${{ }} in the text.
    assert all("${{" not in step.get("run", "") for job in jobs.values() for step in job["steps"])

    assert apply["if"] == (
        "github.event_name == 'push' && github.ref_name == github.event.repository.default_branch"
    )
    assert apply["concurrency"] == {"group": "lmctl-apply", "cancel-in-progress": False}
    assert apply["environment"] == "lmctl-apply"
    assert apply["steps"][-1]["run"] == "lmctl apply arrays/ --auto-approve"
    assert apply["env"]["LMCTL_STATE_DIR"] == "/var/lib/lmctl"


def test_gitlab_plans_merge_requests_keeps_artifacts_on_failure_and_applies_the_default_branch(
    scaffolded: Path,
) -> None:
    document = gitlab(scaffolded)
    plan, apply = document["plan"], document["apply"]
    assert plan["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert plan["artifacts"]["when"] == "always"
    assert set(plan["artifacts"]["paths"]) == {
        "validate.md",
        "plan.md",
        "plan.json",
        "plan-errors.txt",
    }
    assert apply["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert apply["resource_group"] == "lmctl-apply"
    assert apply["script"][-1] == "lmctl apply arrays/ --auto-approve"
    assert apply["variables"]["LMCTL_STATE_DIR"] == "/var/lib/lmctl"


@dataclass(frozen=True)
class Checkout:
    """A merge request's checkout: ``root`` on its branch, ``main`` the target on ``origin``."""

    root: Path
    environment: dict[str, str]
    posted: Path

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """The scaffolded repository pushed as ``main`` to a bare remote, then a branch."""
    root = tmp_path / "repo"
    assert invoke("init", str(root)).exit_code == 0
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(root, "remote", "add", "origin", remote.as_uri())
    git(root, "push", "-q", "origin", "main")
    git(root, "checkout", "-q", "-b", "change")

    stubs = tmp_path / "bin"
    stubs.mkdir()
    posted = tmp_path / "posted"
    (stubs / "lmctl").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m lmctl "$@"\n')
    for tool in ("gh", "curl"):  # what the job would post, and to where
        (stubs / tool).write_text(f'#!/bin/sh\necho {tool} "$@" >> {shlex.quote(str(posted))}\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    kept = {k: v for k, v in os.environ.items() if not k.startswith("LMCTL_")}
    environment = kept | {
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "CI": "true",
        "NO_COLOR": "1",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_BASE_REF": "main",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
        "CI_PROJECT_ID": "1",
        "CI_MERGE_REQUEST_IID": "7",
        "LMCTL_BOT_TOKEN": "bot-token",
        "PULL_REQUEST": "7",
        "GH_TOKEN": "gh-token",
    }
    return Checkout(root, environment, posted)


def gitlab_plan_script(root: Path) -> str:
    return "\n".join(gitlab(root)["plan"]["script"])


def run_github_plan_steps(checkout: Checkout) -> dict[str, str]:
    """The plan job's steps after the install, each as its own shell with GitHub's files for
    outputs and environment; the steps' outputs."""
    plan = steps_by_name(github(checkout.root)["jobs"]["plan"])
    runner = Path(checkout.environment["RUNNER_TEMP"])
    files = {name: runner / name for name in ("output", "env")}
    for file in files.values():
        file.touch()
    environment = checkout.environment | {
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
    }
    # What the "Check out the target branch's inventory" step (actions/checkout) leaves.
    target = checkout.root / "target-branch" / "arrays"
    target.mkdir(parents=True)
    shown = checkout.run("git show main:arrays/appliances.yaml")
    (target / "appliances.yaml").write_text(shown.stdout)
    outputs: dict[str, str] = {}
    for name in (
        'Take the inventory from the target branch (see "Secrets and changes under review")',
        "Validate",
        "Plan (also when validate failed, so that the comment says why)",
        "Post validate and plan on the pull request",
    ):
        step = plan[name]
        done = Checkout(checkout.root, environment, checkout.posted).run(step["run"])
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        for line in files["output"].read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[f"{step.get('id')}.{key}"] = value
        added = dict(line.partition("=")[::2] for line in files["env"].read_text().splitlines())
        environment = environment | added
    return outputs


def break_a_spec(root: Path) -> None:
    mail = root / "arrays" / "mail.yaml"
    mail.write_text(mail.read_text().replace("vip: 192.0.2.50", "vip: not-an-address"))


def test_gitlab_posts_the_note_when_validate_fails_and_then_fails(checkout: Checkout) -> None:
    break_a_spec(checkout.root)
    done = checkout.run(gitlab_plan_script(checkout.root))

    assert done.returncode == 1
    assert "lmctl validate exited 1, lmctl plan 1: see the note" in done.stdout
    comment = (checkout.root / "comment.md").read_text()
    assert "`'not-an-address' is not an IP address (e.g. 10.10.1.50)`" in comment
    assert "## lmctl plan: failed" in comment
    (posted,) = checkout.posted.read_text().splitlines()
    assert "body@comment.md" in posted
    assert posted.endswith("https://gitlab.example/api/v4/projects/1/merge_requests/7/notes")
    for artifact in gitlab(checkout.root)["plan"]["artifacts"]["paths"]:
        if artifact != "plan.json":  # no plan was made
            assert (checkout.root / artifact).is_file()


def test_gitlab_posts_the_plan_of_a_valid_change_and_passes(checkout: Checkout) -> None:
    mail = checkout.root / "arrays" / "mail.yaml"
    mail.write_text(mail.read_text() + "  - {name: EX03, address: 192.0.2.13}\n")
    done = checkout.run(gitlab_plan_script(checkout.root))

    assert done.returncode == 0, done.stdout + done.stderr
    comment = (checkout.root / "comment.md").read_text()
    assert "EX03" in comment
    assert "valid: 1 array, 1 appliance in 2 files" in comment
    assert (checkout.root / "plan.json").is_file()


def test_the_plan_reads_the_inventory_of_the_target_branch(checkout: Checkout) -> None:
    inventory = checkout.root / "arrays" / "appliances.yaml"
    inventory.write_text(inventory.read_text().replace("mock://lm-lab", "https://192.0.2.99"))
    checkout.run(gitlab_plan_script(checkout.root))

    comment = (checkout.root / "comment.md").read_text()
    assert "not read: the inventory is" in comment
    assert "192.0.2.99" not in (checkout.root / "plan.md").read_text()


def test_github_comments_when_validate_fails_and_its_outputs_fail_the_job(
    checkout: Checkout,
) -> None:
    break_a_spec(checkout.root)
    outputs = run_github_plan_steps(checkout)

    assert outputs["validate.exitcode"] == "1"
    assert outputs["plan.exitcode"] == "1"
    comment = (checkout.root / "comment.md").read_text()
    assert "`'not-an-address' is not an IP address (e.g. 10.10.1.50)`" in comment
    assert "## lmctl plan: failed" in comment
    assert checkout.posted.read_text().splitlines() == ["gh pr comment 7 --body-file comment.md"]


def test_every_yaml_excerpt_of_the_ci_docs_is_in_a_scaffolded_ci_file(scaffolded: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "ci-pipelines.md"
    excerpts = re.findall(r"```yaml\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL)
    files = [
        (scaffolded / ".github" / "workflows" / "lmctl.yml").read_text(),
        (scaffolded / ".gitlab-ci.yml").read_text(),
    ]
    assert len(excerpts) >= 4
    missing = [excerpt for excerpt in excerpts if not any(excerpt in text for text in files)]
    assert missing == []


def test_a_plan_too_long_for_a_github_comment_is_posted_as_its_summary(
    checkout: Checkout,
) -> None:
    mail = checkout.root / "arrays" / "mail.yaml"
    members = "".join(
        f"  - {{name: EX{n:04}, address: 10.8.{n // 250}.{n % 250 + 1}}}\n" for n in range(1000)
    )
    mail.write_text(mail.read_text() + members)

    run_github_plan_steps(checkout)

    plan = (checkout.root / "plan.md").read_text()
    assert len(plan) > 65536  # the artifact keeps the whole plan
    comment = (checkout.root / "comment.md").read_text()
    assert len(comment.encode()) <= 60000
    assert "EX0999" not in comment
    summary = next(line for line in plan.splitlines() if line.startswith("**"))
    assert summary in comment.splitlines()
    assert "read plan.md in" in comment
    assert "this run's artifact lmctl-plan." in comment
