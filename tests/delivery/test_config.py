"""emulator.yaml: targets from a file, secrets from the environment, problems at file:line:column."""

from __future__ import annotations

import json

import jsonschema
import pytest

from emulator.delivery.config import ConfigError, config_schema, load_config
from emulator.delivery.targets import build_target
from emulator.errors import Problem

GOOD = """\
store: runs.db
time_scale: 0.01
targets:
  - name: billing
    url: http://localhost:8000/webhooks/idp
    vendor: fusionauth
    signing: {scheme: fusionauth-jwt, secret: "${FA_SECRET}", key_id: k1}
    headers: {X-Team: billing}
    basic_auth: {username: me, password: "${FA_PASSWORD}"}
    events: ["user.login.*", jwt.refresh]
    timeouts: {connect: 500ms, read: 2s}
    retry: {attempts: 5, initial: 1s, multiplier: 3, jitter: 0.1, retry_on: [5xx, 429, timeout]}
    concurrency: 4
    ordering: unordered
  - name: audit
    url: https://audit.example/hooks
    vendor: idaas
    retry: standard-webhooks
"""


def write(tmp_path, text):
    path = tmp_path / "emulator.yaml"
    path.write_text(text)
    return path


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_a_full_config_builds_its_targets(tmp_path, registry):
    config = load_config(write(tmp_path, GOOD))
    assert config.store == "runs.db" and config.time_scale == 0.01
    env = {"FA_SECRET": "fa-secret-of-a-decent-length-123", "FA_PASSWORD": "pw"}
    billing = build_target(config.targets[0], registry, where=config.where(0), env=env)
    assert billing.signing.secrets == ("fa-secret-of-a-decent-length-123",) and billing.signing.key_id == "k1"
    assert billing.connect_timeout == 0.5 and billing.read_timeout == 2 and billing.concurrency == 4
    assert billing.wants("user.login.success") and billing.wants("jwt.refresh") and not billing.wants("user.create")
    assert billing.headers["Authorization"].startswith("Basic ") and billing.headers["X-Team"] == "billing"
    assert billing.retry.attempts == 5 and billing.retry.retry_on == {"5xx", "429", "timeout"}
    # what the store keeps: the references, never the values
    assert billing.stored["signing"]["secret"] == "${FA_SECRET}"
    assert "fa-secret" not in json.dumps(billing.stored)
    audit = build_target(config.targets[1], registry, where=config.where(1))
    assert audit.retry.name == "standard-webhooks" and audit.signing.scheme == "none"  # no secret: unsigned
    assert "needs a secret" in audit.notice


def test_a_missing_environment_variable_is_named_at_its_place(tmp_path, registry):
    config = load_config(write(tmp_path, GOOD))
    with pytest.raises(Problem) as info:
        build_target(config.targets[0], registry, where=config.where(0), env={})
    assert str(info.value).startswith(f"{tmp_path / 'emulator.yaml'}:7:")
    assert "environment variable FA_SECRET is not set" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "targets:\n  - name: a\n    url: http://x/\n    retyr: none\n",
            ":4:5: targets[0]: unknown key 'retyr'; did you mean 'retry'?",
        ),
        (
            "targets:\n  - name: a\n    url: http://x/\n    concurrency: many\n",
            ":4:18: targets[0].concurrency: 'many' is not of type 'integer'",
        ),
        (
            "targets:\n  - name: a\n    url: http://x/\n    timeouts: {read: soon}\n",
            ":4:22: targets[0].timeouts.read: 'soon' is not valid here",
        ),
        ("targets:\n  - url: http://x/\n", ":2:5: targets[0]: 'name' is required"),
        (
            "targets:\n  - name: a\n    url: http://x/\n    ordering: random\n",
            ":4:15: targets[0].ordering: 'random' is not one of",
        ),
        (
            "targets:\n  - name: a\n    url: http://x/\n  - name: a\n    url: http://y/\n",
            ":4:11: duplicate target name 'a'",
        ),
        ("targets: [\n", "YAML syntax error"),
        ("time_scale: -1\n", ":1:13: time_scale: -1 is less than the minimum of 0"),
        ("tragets: []\n", "unknown key 'tragets'; did you mean 'targets'?"),
    ],
)
def test_problems_name_the_field_and_the_position(tmp_path, text, expected):
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_bad_values_the_schema_cannot_see(tmp_path, registry):
    config = load_config(write(tmp_path, "targets:\n  - name: a\n    url: ftp://x/\n    vendor: keycloak\n"))
    with pytest.raises(Problem, match=r":3:10: target 'a': url 'ftp://x/': expected http:// or https://"):
        build_target(config.targets[0], registry, where=config.where(0))
    config = load_config(write(tmp_path, "targets:\n  - name: a\n    url: http://x/\n    vendor: keycloack\n"))
    with pytest.raises(Problem, match="did you mean 'keycloak'"):
        build_target(config.targets[0], registry, where=config.where(0))
    config = load_config(
        write(tmp_path, "targets:\n  - name: a\n    url: http://x/\n    vendor: keycloak\n    retry: fast\n")
    )
    with pytest.raises(Problem, match="unknown retry preset 'fast'"):
        build_target(config.targets[0], registry, where=config.where(0))


def test_the_shipped_schema_is_valid_and_accepts_the_documented_example(tmp_path):
    jsonschema.Draft202012Validator.check_schema(config_schema())
    load_config(write(tmp_path, GOOD))


def test_an_unreadable_config_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path / "bin.yaml")


def test_the_shipped_config_schema_is_made_from_the_definitions():
    from emulator.delivery.config_schema import config_schema_document

    assert config_schema() == config_schema_document(), (
        "run: idp-emulator schema --config -o emulator/delivery/emulator.schema.json"
    )


def test_every_fault_and_scheme_in_the_schema_is_accepted_by_the_loader(registry):
    from emulator.delivery.faults import FAULTS
    from emulator.delivery.signing import SCHEMES

    schema = config_schema()
    assert schema["$defs"]["signing"]["properties"]["scheme"]["enum"] == list(SCHEMES)
    for kind in FAULTS:
        spec = {"name": "t", "url": "http://127.0.0.1:9/", "vendor": "keycloak", "faults": [kind]}
        if kind == "rotation":
            spec["faults"] = [{"rotation": {"previous": "old"}}]
        if kind == "delay":
            spec["faults"] = [{"delay": {"fixed": "1s"}}]
        jsonschema.validate({"targets": [spec]}, schema)
        assert build_target(spec, registry).faults[0].kind == kind
