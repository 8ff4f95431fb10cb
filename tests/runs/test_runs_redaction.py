"""Secrets stay out of the registry: param names that look like credentials, well-known token shapes
and string literals given to secret-named variables in captured code, URL passwords; innocent
look-alikes are stored as they are."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import mlnb
from mlnb.runs._capture import REDACTED, is_secret, redact_code
from tests.conftest import ROOT

SECRET_NAMES = [
    "privatekey", "secretkey", "db_pass", "passphrase", "api_key", "apiKey", "APIKey", "hfToken", "HF_TOKEN",
    "token", "access_token", "github-token", "db_password", "dbpassword", "user-pwd", "PGPASSWD",
    "AWS_SECRET_ACCESS_KEY", "aws_access_key_id", "OPENAI_API_KEY", "openaiapikey", "stripe_key", "clientSecret",
    "client_secret2", "credentials", "gcp_creds", "auth", "basic_auth", "private_key_pem", "ssh-key-path",
    "bearer", "jwt", "DB_PASS", "mysqlPass", "signing_key", "encryption_keys",
]
INNOCENT_NAMES = [
    "passage", "tokenizer_name", "max_tokens", "num_tokens", "token_count", "author", "authority", "monkey",
    "hockey", "keyboard", "key_column", "keys", "n_keys", "pass_rate", "passenger_count", "compass",
    "bypass_cache", "secretary", "lr", "learning_rate", "tokenize", "pk",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name):
    assert is_secret(name), name


@pytest.mark.parametrize("name", INNOCENT_NAMES)
def test_innocent_names(name):
    assert not is_secret(name), name


# each: a fake credential of a well-known shape, as it would sit in code or a value
TOKENS = [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2" * 9,
    "github_pat_" + "11ABCDEFG0" * 3 + "_xyz" * 5,
    "sk-proj-" + "Ab3_" * 10,
    "sk-ant-api03-" + "Zx9-" * 10,
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
    "AIza" + "SyA-" * 8 + "abc",
    "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACD\n-----END OPENSSH PRIVATE KEY-----",
]


@pytest.mark.parametrize("token", TOKENS, ids=lambda t: t[:12])
def test_token_shapes_are_redacted_wherever_they_sit_in_code(token):
    code = f"client = make_client({token!r})\nprint('trained')\n"
    out = redact_code(code)
    assert token not in out and REDACTED in out and "print('trained')" in out


def test_literals_given_to_secret_names_and_url_passwords_are_redacted_in_code():
    code = (
        'OPENAI_API_KEY = "not-a-known-shape-but-a-secret"\n'
        "db_password: str = 'hunter2'\n"
        'cfg = {"client_secret": "c1", "lr": "0.1"}\n'
        'os.environ["HF_TOKEN"] = "abc123"\n'
        'connect(url="postgresql://bob:pa55@db:5432/x", token="t0k")\n'
        'key = "loss"\nname = "passage"\nempty_token = ""\ntoken = os.environ["TOKEN"]\n'
    )
    out = redact_code(code)
    for secret in ("not-a-known-shape-but-a-secret", "hunter2", "c1", "abc123", "pa55", "t0k"):
        assert secret not in out, secret
    for kept in ('"lr": "0.1"', 'key = "loss"', 'name = "passage"', 'empty_token = ""', 'os.environ["TOKEN"]',
                 "postgresql://bob:***redacted***@db:5432/x"):
        assert kept in out, kept


def test_a_script_run_stores_its_code_without_the_literal_key(project):
    key = "sk-proj-" + "Q" * 40
    script = project.root / "train.py"
    script.write_text(f'import mlnb\nOPENAI_API_KEY = "{key}"\naws = "AKIAIOSFODNN7EXAMPLE"\n'
                      'with mlnb.start_run("s", params={"privatekey": "p", "db_pass": "d", "passage": "kept",\n'
                      '                                 "endpoint": "https://u:pw@host/x", "note": OPENAI_API_KEY}) as r:\n'
                      "    print(r.id)\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=project.root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    rec = mlnb.runs.get(proc.stdout.strip())
    assert key not in rec.to_json() and "AKIAIOSFODNN7EXAMPLE" not in rec.to_json()
    assert f'OPENAI_API_KEY = "{REDACTED}"' in rec.code and 'with mlnb.start_run("s"' in rec.code
    assert rec.params["privatekey"] == rec.params["db_pass"] == rec.params["note"] == REDACTED
    assert rec.params["passage"] == "kept" and rec.params["endpoint"] == f"https://u:{REDACTED}@host/x"


def test_an_error_message_holding_a_token_is_stored_redacted(project):
    with pytest.raises(PermissionError):
        with mlnb.start_run("e") as run:
            raise PermissionError("key ghp_" + "z" * 36 + " was rejected")
    assert mlnb.runs.get(run.id).error == f"PermissionError: key {REDACTED} was rejected"
