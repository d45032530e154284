"""`gateway keys …`: the keyring of the stored messages and the receipt signing keys."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "密钥：报文加密密钥环与回执签名密钥（docs/privacy.md）。"
        "Keys: the keyring that encrypts stored messages, and the receipt signing keys."
    ),
)


@app.command(
    "init",
    help=(
        "生产环境首次部署时创建密钥文件（GATEWAY_KEYRING_FILE、GATEWAY_RECEIPT_KEYS_FILE），"
        "已存在的不覆盖。Create the key files production reads, where they do not exist yet."
    ),
)
def init() -> None:
    from gateway.cli.common import print_json, refuse
    from gateway.errors import ConfigurationError
    from gateway.privacy.keys import init_files, key_paths
    from gateway.settings import get_settings

    paths = key_paths(get_settings())
    try:
        written = init_files(paths)
    except (OSError, ConfigurationError) as exc:
        refuse(exc if isinstance(exc, ConfigurationError) else ConfigurationError([str(exc)]))
    print_json(
        {
            "keyring": str(paths.keyring),
            "receipt_keys": str(paths.receipts),
            "written": [str(p) for p in written],
            "note": "备份这两个文件 / back both files up: without the keyring nothing stored can "
            "be read",
        }
    )


@app.command("status", help="密钥与各密钥加密的报文数。The keys, and how many messages each wraps.")
def status() -> None:
    from gateway.cli.common import print_json, runtime
    from gateway.messages import repository

    with runtime() as rt:
        with rt.session() as session:
            counts = repository.kek_counts(session)
        active = rt.sealer.keys.active().id
        print_json(
            {
                "keyring": str(rt.sealer.keys.path),
                "key_encryption_keys": [
                    {
                        "id": k.id,
                        "created": k.created,
                        "active": k.id == active,
                        "messages": counts.get(k.id, 0),
                    }
                    for k in rt.sealer.keys.all()
                ],
                "messages_without_key": counts.get(None, 0),
                "receipt_keys": str(rt.receipts.keys.path),
                "receipt_signing_keys": [
                    {
                        "kid": k.id,
                        "created": k.created,
                        "active": k.id == rt.receipts.keys.active().id,
                    }
                    for k in rt.receipts.keys.all()
                ],
            }
        )


@app.command(
    "rotate",
    help=(
        "新增一把密钥加密密钥并设为当前密钥，然后在后台把所有数据密钥重新加密（网关照常运行）。"
        "--receipts 则轮换回执签名密钥（旧公钥保留在 JWKS 中）。"
        "Add a key-encryption key and re-wrap every data key under it while the gateway keeps "
        "serving; with --receipts, rotate the receipt signing key instead."
    ),
)
def rotate(
    receipts: Annotated[
        bool, typer.Option("--receipts", help="轮换回执签名密钥 / rotate the receipt key")
    ] = False,
    rewrap_now: Annotated[
        bool, typer.Option("--rewrap/--no-rewrap", help="立即重新加密 / re-wrap now")
    ] = True,
) -> None:
    from gateway.cli.common import print_json, runtime
    from gateway.messages.keys import rewrap
    from gateway.privacy import keys
    from gateway.privacy.canary import check_keys
    from gateway.privacy.keyfile import new_key

    with runtime() as rt:
        if receipts:
            key = new_key(keys.RECEIPT_PREFIX)
            rt.receipts.keys.add(key, keys.RECEIPT_HEADER)
            print_json({"receipt_signing_key": key.id, "active": True})
            return
        key = new_key(keys.KEK_PREFIX)
        rt.sealer.keys.add(key, keys.KEYRING_HEADER)
        check_keys(rt.sessions, rt.sealer, rt.time.now())  # the new key's canary
        result = None
        if rewrap_now:
            result = rewrap(rt.sessions, rt.sealer, settle_s=2 * rt.settings.reference_check_s + 1)
        print_json(
            {
                "key_encryption_key": key.id,
                "rewrapped": result.rows if result else 0,
                "seconds": round(result.seconds, 2) if result else 0,
            }
        )


@app.command(
    "rewrap",
    help="把仍由旧密钥加密的数据密钥重新加密（轮换中断后续做）。Resume re-wrapping after a kill.",
)
def rewrap_command() -> None:
    from gateway.cli.common import print_json, runtime
    from gateway.messages.keys import rewrap

    with runtime() as rt:
        result = rewrap(rt.sessions, rt.sealer)
        print_json(
            {"active": result.active, "rewrapped": result.rows, "seconds": round(result.seconds, 2)}
        )
