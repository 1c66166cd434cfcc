"""Driving the OpenRosa endpoints as ODK Collect does: httpx (its own Digest implementation)
against the WSGI application, in the test's transaction."""

from __future__ import annotations

import uuid
from typing import Any
from xml.sax.saxutils import escape

import httpx
from django.core.handlers.wsgi import WSGIHandler

from openrosa.xlsform import FORM_ID

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the bytes of a (tiny) signature image


def collect_client(username: str, password: str, *, digest: bool = True) -> httpx.Client:
    auth: httpx.Auth = httpx.DigestAuth(username, password) if digest else httpx.BasicAuth(username, password)
    return httpx.Client(
        base_url="http://testserver",
        transport=httpx.WSGITransport(app=WSGIHandler()),
        auth=auth,
        headers={"X-OpenRosa-Version": "1.0"},
    )


def new_instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def instance_xml(
    *,
    instance_id: str,
    deprecated_id: str = "",
    village: str = "17.04.01.2001",
    nik: str = "1704014101900001",
    full_name: str = "Siti Aminah",
    heirs: tuple[dict[str, str], ...] = ({"heir_name": "Rahmat", "heir_relationship": "child"},),
    signature: str = "signature.png",
    version: str = "v",
    **fields: Any,
) -> bytes:
    """An instance of the registration form as ODK Collect serialises it."""
    values: dict[str, Any] = {
        "consent_given": "yes",
        "consent_method": "signature",
        "consent_at": "2026-11-20T09:00:00.000+07:00",
        "birth_date": "1990-01-01",
        "birth_place": "Kaur",
        "sex": "F",
        "phone": "081234567890",
        "mother_maiden_name": "Fatimah",
        "street": "Jl. Pantai",
        "dusun": "Dusun I",
        "rt": "001",
        "rw": "002",
        "occupation": "nelayan",
        "monthly_income": "1500000",
        "funding_source": "apbd_kabupaten",
        "programs": "JKK JKM",
        "coverage_start": "2026-12-01",
        "payment_period_months": "1",
        **fields,
    }

    def leaves(*names: str) -> str:
        return "".join(f"<{n}>{escape(str(values.get(n, '')))}</{n}>" for n in names)

    heir_xml = "".join(
        "<heirs>"
        + "".join(
            f"<{n}>{escape(heir.get(n, ''))}</{n}>"
            for n in ("heir_name", "heir_relationship", "heir_nik", "heir_phone")
        )
        + "</heirs>"
        for heir in heirs
    )
    meta = f"<instanceID>{instance_id}</instanceID><instanceName>{escape(full_name)}</instanceName>"
    if deprecated_id:
        meta += f"<deprecatedID>{deprecated_id}</deprecatedID>"
    return (
        "<?xml version='1.0' ?>"
        f'<registrasi id="{FORM_ID}" version="{version}" xmlns:jr="http://openrosa.org/javarosa" '
        'xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms">'
        "<persetujuan>"
        + leaves("consent_given", "consent_method")
        + f"<consent_signature>{signature}</consent_signature><consent_thumbprint/>"
        + leaves("consent_at")
        + "</persetujuan><identitas>"
        + f"<village>{village}</village><nik>{nik}</nik><kk_number/><full_name>{escape(full_name)}</full_name>"
        + leaves("birth_date", "birth_place", "sex", "phone", "mother_maiden_name")
        + "</identitas><alamat>"
        + leaves("street", "dusun", "rt", "rw")
        + "</alamat><pekerjaan>"
        + leaves("occupation")
        + "<kusuka_number/>"
        + leaves("monthly_income")
        + "</pekerjaan>"
        + heir_xml
        + "<kepesertaan>"
        + leaves("funding_source", "programs", "coverage_start", "payment_period_months")
        + f"</kepesertaan><meta>{meta}</meta></registrasi>"
    ).encode()


def submission_files(xml: bytes, *attachments: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The multipart parts ODK Collect sends: the instance, then each file under its own name."""
    parts = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    parts += [(name, (name, data, "image/png")) for name, data in attachments]
    return parts
