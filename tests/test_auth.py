"""Accounts for a shared server: hashed passwords, roles, and the `mianshi users` commands."""

from __future__ import annotations

import json

import pytest

from bot.web.auth import AuthFileError, UserFile, hash_password, verify_password
from ingest.errors import InputError


def test_passwords_are_salted_scrypt_hashes_that_verify():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$") and "correct horse" not in a
    assert verify_password("correct horse", a) and not verify_password("wrong horse", a)
    assert not verify_password("x", "not-a-hash") and not verify_password("x", "md5$1$2$3$4$5")


def test_user_file_roles_and_login(tmp_path):
    path = tmp_path / "users.json"
    users = UserFile(path)
    users.add("alice", "s3cret-pass", admin=True)
    users.add("bob", "another-pass")
    again = UserFile(path)  # what the server reads at start
    assert again.authenticate("alice", "s3cret-pass") and not again.authenticate("alice", "another-pass")
    assert not again.authenticate("carol", "s3cret-pass") and not again.authenticate("", "")
    assert again.is_admin("alice") and not again.is_admin("bob") and not again.is_admin(None)
    stored = path.read_text(encoding="utf-8")
    assert "s3cret-pass" not in stored and "another-pass" not in stored
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again.add("bob", "a-new-password")  # a new password replaces the old one
    assert UserFile(path).authenticate("bob", "a-new-password") and not UserFile(path).authenticate("bob", "another-pass")


@pytest.mark.parametrize("name, password, message", [
    ("", "long-enough", "invalid user name"),
    ("x" * 41, "long-enough", "invalid user name"),
    ("bad\nname", "long-enough", "invalid user name"),
    ("alice", "short", "password too short"),
])
def test_bad_accounts_are_refused(tmp_path, name, password, message):
    with pytest.raises(InputError, match=message):
        UserFile(tmp_path / "u.json").add(name, password)
    assert not (tmp_path / "u.json").exists()


@pytest.mark.parametrize("content", ["not json", json.dumps({"users": [{"name": "a"}]}), json.dumps([1, 2])])
def test_a_broken_accounts_file_says_how_to_fix_it(tmp_path, content):
    path = tmp_path / "u.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AuthFileError, match="mianshi users add"):
        UserFile(path)


def test_an_empty_accounts_file_cannot_start_a_server(tmp_path):
    with pytest.raises(AuthFileError, match="--admin"):
        UserFile(tmp_path / "none.json").require_users()


def test_users_cli_add_list_remove(cli, tmp_path):
    path = tmp_path / "users.json"
    res = cli("users", "add", "alice", "--admin", "--file", path, input="s3cret-pass\ns3cret-pass\n")
    assert res.exit_code == 0, res.stderr
    assert "已保存 saved alice (admin)" in res.stderr
    assert cli("users", "add", "bob", "--file", path, "--password", "bob-password").exit_code == 0
    assert cli("users", "list", "--file", path).stdout == "alice\tadmin\nbob\tuser\n"
    assert cli("users", "remove", "bob", "--file", path).exit_code == 0
    assert cli("users", "list", "--file", path).stdout == "alice\tadmin\n"
    res = cli("users", "remove", "nobody", "--file", path)
    assert res.exit_code == 2 and "no user 'nobody'" in res.stderr
    res = cli("users", "add", "carol", "--file", path, "--password", "short")
    assert res.exit_code == 2 and "password too short" in res.stderr
