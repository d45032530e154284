"""Filling a Settings' secrets, and refusing the ones production must not run on.

Where a secret comes from, first match wins:
1. its environment variable (``GATEWAY_PUSH_SIGNING_KEY``, ``GATEWAY_PERSON_KEY_SECRET``);
2. the file its ``*_FILE`` setting names (whitespace around the value is dropped);
3. development only: ``<data_dir>/secrets/gateway-secrets.toml``, generated at first start.
Setting both 1 and 2 is refused. Production never generates: it refuses to start while a
secret is missing, shorter than 32 bytes, equal to the other one, or while the drill clock
(``GATEWAY_CLOCK_START``) is set. The old public development values are refused everywhere.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from gateway.errors import ConfigurationError
from gateway.keys import store
from gateway.settings import SECRET_FIELDS, Settings

# The public values earlier versions used when nothing was configured. Kept only to refuse
# them: a secret anyone can read in the source signs nothing.
DEVELOPMENT_DEFAULTS = (
    "development-only-push-signing-key",
    "development-only-person-key",
)
MIN_SECRET_BYTES = 32


def resolve_secrets(settings: Settings) -> Settings:
    """A copy of ``settings`` with every secret filled (``settings.push_signing_key`` and
    ``settings.person_key_secret`` are then plain strings); raises ConfigurationError naming
    each refused setting. Calling it again on its result returns that result."""
    if settings.secrets_resolved:
        return settings
    production = settings.env == "production"
    problems: list[str] = []
    found: dict[str, str] = {}
    missing: list[str] = []
    for attribute, (field, variable) in SECRET_FIELDS.items():
        value = _configured(settings, attribute, field, variable, problems)
        if value is None:
            if production:
                problems.append(
                    f"{variable} is not set (or {variable}_FILE); production never generates "
                    f"secrets / 未配置 {variable}（或 {variable}_FILE），生产环境不自动生成密钥"
                )
            else:
                missing.append(attribute)
            continue
        found[attribute] = value
    if missing and not problems:
        found.update(store.generated_secrets(settings.data_dir, missing, list(SECRET_FIELDS)))
    for attribute, value in found.items():
        problems.extend(_refusals(SECRET_FIELDS[attribute][1], value, production))
    if production:
        problems.extend(_production_refusals(settings, found))
    if problems:
        raise ConfigurationError(problems)
    resolved = settings.model_copy(
        update={SECRET_FIELDS[a][0]: SecretStr(v) for a, v in found.items()}
    )
    resolved.secrets_resolved = True
    return resolved


def _configured(
    settings: Settings, attribute: str, field: str, variable: str, problems: list[str]
) -> str | None:
    given: SecretStr | None = getattr(settings, field)
    path: Path | None = getattr(settings, f"{attribute}_file")
    value = given.get_secret_value() if given is not None else ""
    if value and path is not None:
        problems.append(f"{variable} and {variable}_FILE are both set: keep one / 两者只能设置其一")
        return None
    if value:
        return value
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(
            f"{variable}_FILE={path} cannot be read ({type(exc).__name__}) / 密钥文件无法读取"
        )
        return None
    if not text:
        problems.append(f"{variable}_FILE={path} is empty / 密钥文件为空")
        return None
    return text


def _refusals(variable: str, value: str, production: bool) -> list[str]:
    if value in DEVELOPMENT_DEFAULTS:
        return [
            f"{variable} is a public development value: set a random one "
            f"/ {variable} 是公开的开发默认值，请设置随机密钥"
        ]
    if production and len(value.encode("utf-8")) < MIN_SECRET_BYTES:
        return [
            f"{variable} is shorter than {MIN_SECRET_BYTES} bytes "
            f"/ {variable} 短于 {MIN_SECRET_BYTES} 字节"
        ]
    return []


def _production_refusals(settings: Settings, found: dict[str, str]) -> list[str]:
    problems = []
    values = list(found.values())
    if len(values) == len(SECRET_FIELDS) and len(set(values)) < len(values):
        names = " and ".join(variable for _field, variable in SECRET_FIELDS.values())
        problems.append(f"{names} must differ / 各密钥须互不相同")
    for attribute, variable in (
        ("keyring_file", "GATEWAY_KEYRING_FILE"),
        ("receipt_keys_file", "GATEWAY_RECEIPT_KEYS_FILE"),
    ):
        if getattr(settings, attribute) is None:
            problems.append(
                f"{variable} is not set: production never generates keys (gateway keys init) "
                f"/ 未配置 {variable}，生产环境不自动生成密钥（请运行 gateway keys init）"
            )
    if settings.clock_start:
        problems.append(
            "GATEWAY_CLOCK_START is set: no drill clock in production "
            "/ 生产环境不得设置演练时钟 GATEWAY_CLOCK_START"
        )
    return problems
