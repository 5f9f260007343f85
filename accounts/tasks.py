from celery import shared_task

from accounts import services
from audit.services import Actor


@shared_task(ignore_result=True)
def password_reset_link_send(*, email: str) -> None:
    # Takes the address rather than a user id: the request that queued it must not have
    # looked the account up (see services.password_reset_request).
    services.password_reset_link_send(actor=Actor.system("password_reset"), email=email)
