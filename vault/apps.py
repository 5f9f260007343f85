from django.apps import AppConfig
from django.core.signals import setting_changed


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Vault (keys and encryption)"

    def ready(self) -> None:
        from vault import config

        setting_changed.connect(config.on_setting_changed, dispatch_uid="vault-settings")
