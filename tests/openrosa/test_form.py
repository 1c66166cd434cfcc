"""The form ODK Collect downloads: per officer, valid in ODK's own validator, listed with its
hash, big choice lists as media in the manifest."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from defusedxml.ElementTree import fromstring
from pyxform.validators import odk_validate

from openrosa.xlsform import officer_form
from tests.conftest import GEDUNG_WANI, KAUR, KINAL, VILLAGE_B
from tests.factories import PASSWORD
from tests.openrosa.helpers import collect_client
from villages.models import Area

XFORMS = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"
XF = "{http://www.w3.org/2002/xforms}"


def village_choices(xml: bytes) -> list[str]:
    root = fromstring(xml)
    instance = next(i for i in root.iter(f"{XF}instance") if i.get("id") == "village")
    return [item.find(f"{XF}name").text for item in instance.iter(f"{XF}item")]


@pytest.mark.parametrize("inline_max", [100, 1], ids=["inline-choices", "villages-csv"])
def test_the_generated_xform_passes_odk_validate(odk_user, settings, tmp_path, inline_max):
    settings.OPENROSA_INLINE_CHOICES_MAX = inline_max
    form = officer_form(odk_user(areas=(KINAL,)))
    assert form is not None
    path = tmp_path / "registrasi.xml"
    path.write_bytes(form.xml)
    # Raises ODKValidateError on an invalid form; java runs ODK_Validate.jar shipped with pyxform.
    odk_validate.check_xform(str(path))
    assert bool(form.media) is (inline_max == 1)


def test_the_form_lists_only_the_officers_villages(odk_user):
    form = officer_form(odk_user(areas=(GEDUNG_WANI,)))
    district_form = officer_form(odk_user(areas=(KINAL,)))
    assert form is not None
    assert district_form is not None
    assert village_choices(form.xml) == [GEDUNG_WANI]
    in_kinal = list(Area.objects.filter(parent_id=KINAL, active=True).order_by("code").values_list("code", flat=True))
    assert village_choices(district_form.xml) == in_kinal
    assert VILLAGE_B in in_kinal
    assert form.version != district_form.version
    assert 'lang="English (en)"' in form.xml.decode()
    assert "regex(., '^[0-9]{16}$')" in form.xml.decode()


def test_form_list_names_the_form_with_its_hash(officer):
    with collect_client(officer.username, PASSWORD) as client:
        listed = client.get("/openrosa/formList")
        (entry,) = fromstring(listed.content).findall(f"{XFORMS}xform")
        download = client.get(entry.find(f"{XFORMS}downloadUrl").text)
    assert listed.status_code == 200
    assert listed.headers["X-OpenRosa-Version"] == "1.0"
    assert listed.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert entry.find(f"{XFORMS}formID").text == "registrasi_pekerja"
    assert entry.find(f"{XFORMS}manifestUrl") is None
    assert download.status_code == 200
    assert entry.find(f"{XFORMS}hash").text == "md5:" + hashlib.md5(download.content, usedforsecurity=False).hexdigest()
    assert f'version="{entry.find(f"{XFORMS}version").text}"' in download.text


def test_many_villages_come_as_a_csv_in_the_manifest(odk_user, settings):
    settings.OPENROSA_INLINE_CHOICES_MAX = 5
    regency_officer = odk_user(areas=(KAUR,))
    with collect_client(regency_officer.username, PASSWORD) as client:
        (entry,) = fromstring(client.get("/openrosa/formList").content).findall(f"{XFORMS}xform")
        manifest = client.get(entry.find(f"{XFORMS}manifestUrl").text)
        (media,) = fromstring(manifest.content).findall(f"{MANIFEST}mediaFile")
        csv_file = client.get(media.find(f"{MANIFEST}downloadUrl").text)
        form = client.get(entry.find(f"{XFORMS}downloadUrl").text)
    assert media.find(f"{MANIFEST}filename").text == "villages.csv"
    assert (
        media.find(f"{MANIFEST}hash").text == "md5:" + hashlib.md5(csv_file.content, usedforsecurity=False).hexdigest()
    )
    rows = list(csv.DictReader(io.StringIO(csv_file.text)))
    in_kaur = Area.objects.filter(code__startswith=KAUR + ".", level="village", active=True)
    assert [r["name"] for r in rows] == list(in_kaur.order_by("code").values_list("code", flat=True))
    assert len(rows) > 5
    assert 'src="jr://file-csv/villages.csv"' in form.text


def test_an_unknown_form_is_404(officer):
    with collect_client(officer.username, PASSWORD) as client:
        response = client.get("/openrosa/forms/another/form.xml")
    assert response.status_code == 404
    assert response.headers["X-OpenRosa-Version"] == "1.0"
