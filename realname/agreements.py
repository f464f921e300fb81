"""The real-name registration agreements (实名注册协议), versioned, in both languages.

A new version is a new entry here; persons who accepted an older one are asked again at
their next sign-in. Text changes need a new version: an accepted version never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from realname.models import AgreementAcceptance


class AgreementKind(StrEnum):
    person = "person"  # 自然人实名注册协议
    organization = "organization"  # 法人实名注册协议


@dataclass(frozen=True)
class Agreement:
    kind: AgreementKind
    version: str
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str


PERSON_2026_11 = Agreement(
    kind=AgreementKind.person,
    version="2026-11",
    title_zh="自然人实名注册协议",
    title_en="Real-name registration agreement for individuals",
    text_zh=(
        "一、您应使用本人真实身份信息注册，不得冒用他人身份。\n"
        "二、平台仅为核验您的身份而收集姓名、证件号码和手机号码，证件号码与手机号码加密存储，"
        "并与权威数据源（人口信息库）比对。\n"
        "三、经您同意，平台向您选择登录的政务服务应用提供必要的身份信息；您可以在个人中心查看"
        "和撤销授权。\n"
        "四、请妥善保管账号和密码；发现账号异常请及时修改密码或联系客服。\n"
        "五、平台按照《个人信息保护法》保护您的个人信息，您可以申请查阅、更正或注销账号。"
    ),
    text_en=(
        "1. Register with your own true identity; never use another person's.\n"
        "2. The platform collects your name, ID number and mobile number only to prove who "
        "you are. ID and mobile numbers are stored encrypted and checked against the "
        "authoritative population registry.\n"
        "3. With your consent, the platform gives the government services you sign in to the "
        "identity information they need. You can see and withdraw each consent in your "
        "account centre.\n"
        "4. Keep your account and password safe. If anything looks wrong, change your "
        "password or contact the service desk.\n"
        "5. Your personal information is protected under the Personal Information Protection "
        "Law; you may ask to see, correct or delete it, or close your account."
    ),
)

ORGANIZATION_2026_11 = Agreement(
    kind=AgreementKind.organization,
    version="2026-11",
    title_zh="法人实名注册协议",
    title_en="Real-name registration agreement for legal persons",
    text_zh=(
        "一、注册人应如实填写单位名称和统一社会信用代码，平台将与企业登记信息比对。\n"
        "二、注册人非法定代表人的，须经法定代表人确认后，方可代表该单位办理业务。\n"
        "三、法定代表人或单位管理员授权经办人时，应限定授权事项和期限，并对经办人的行为负责；"
        "授权可随时撤销。\n"
        "四、单位信息发生变更、注销或吊销的，平台将据企业登记信息停止相关授权。\n"
        "五、平台记录注册、确认、授权与撤销的全部操作，供单位查询和审计。"
    ),
    text_en=(
        "1. Give the organisation's name and unified social credit code truthfully; the "
        "platform checks them against the enterprise registry.\n"
        "2. If you are not the legal representative, nobody can act for the organisation "
        "until the legal representative approves the registration.\n"
        "3. When the legal representative or an administrator authorises an agent, the "
        "authorisation names the matters and an end date, and the organisation answers for "
        "what the agent does; an authorisation can be revoked at any time.\n"
        "4. When the registry shows the organisation changed, cancelled or revoked, the "
        "platform ends the authorisations that depend on it.\n"
        "5. Every registration, approval, authorisation and revocation is recorded, for the "
        "organisation to consult and for audit."
    ),
)

CURRENT: dict[AgreementKind, Agreement] = {
    AgreementKind.person: PERSON_2026_11,
    AgreementKind.organization: ORGANIZATION_2026_11,
}


def pending_for(
    session: Session, person_id: str, kind: AgreementKind = AgreementKind.person
) -> Agreement | None:
    """The current agreement if this person accepted an older version and not this one.

    Persons with no acceptance at all (created at a counter, where the paper form is
    signed, or imported from a departmental system) are not asked here.
    """
    versions = set(
        session.scalars(
            select(AgreementAcceptance.version).where(
                AgreementAcceptance.person_id == person_id, AgreementAcceptance.kind == kind.value
            )
        )
    )
    current = CURRENT[kind]
    return current if versions and current.version not in versions else None


def accept(session: Session, person_id: str, agreement: Agreement, channel: str) -> None:
    session.add(
        AgreementAcceptance(
            person_id=person_id,
            kind=agreement.kind.value,
            version=agreement.version,
            channel=channel,
        )
    )
