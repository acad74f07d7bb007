"""Production settings: refuse the default secret, and `check --deploy` is clean."""

import os
import subprocess
import sys

from django.conf import settings

PROD_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x7$kq2!vR9#mPz4@Lw8^nYb3&Hc6*Ft1(Gd5)Js0_Ue-Ai+Oo=Xr~Ql;Vh:Zy",
    "ALLOWED_HOSTS": "service.example.com",
    "DATABASE_URL": "",
}


def _manage(*args, env_overrides):
    env = {**os.environ, **env_overrides}
    env.pop("REQUIRE_POSTGRES", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser fixture in this process
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_with_the_default_secret_key():
    env = {**PROD_ENV}
    env.pop("SECRET_KEY")
    result = _manage("check", env_overrides={**env, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
