"""Face verification contract: the same assertions for the reference service (a separate
process, over signed HTTP) and for the fake, under the synthetic face rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors import synthetic
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face import FaceResult
from connectors.face.fake import FakeFaceVerifier
from connectors.face.govjson import GovJsonFaceVerifier
from tests.integration.connectors.conftest import (
    DATASET,
    KEY,
    ReferenceProcess,
    Subject,
    fake_subject,
    reference_subject,
)

ME, SOMEONE_ELSE = DATASET.persons_with("alive")[:2]


@pytest.fixture(params=["reference", "fake"])
def subject(
    request: pytest.FixtureRequest, reference: Callable[[str], ReferenceProcess]
) -> Subject:
    if request.param == "fake":
        return fake_subject(FakeFaceVerifier(p.photo_template_id for p in DATASET.persons))
    process = reference("face")
    return reference_subject(process, GovJsonFaceVerifier(process.url, KEY))


def check(subject: Subject, image: str, token: str | None = None) -> FaceResult:
    token = synthetic.liveness_token(image) if token is None else token
    result: FaceResult = subject.impl.verify(ME.photo_template_id, image, token)
    return result


@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_the_right_person_live_scores_high(subject: Subject, variant: int) -> None:
    result = check(subject, synthetic.face_image(ME.photo_template_id, variant))
    assert result.liveness
    assert 0.90 <= result.score <= 0.99


@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_someone_else_scores_low(subject: Subject, variant: int) -> None:
    result = check(subject, synthetic.face_image(SOMEONE_ELSE.photo_template_id, variant))
    assert result.liveness
    assert 0.0 <= result.score < 0.40


def test_the_score_is_stable_for_the_same_frame(subject: Subject) -> None:
    image = synthetic.face_image(ME.photo_template_id, 7)
    assert check(subject, image) == check(subject, image)


def test_a_missing_or_foreign_liveness_token_is_not_live(subject: Subject) -> None:
    image = synthetic.face_image(ME.photo_template_id)
    other = synthetic.face_image(ME.photo_template_id, 1)
    assert not check(subject, image, "spoof").liveness
    assert not check(subject, image, synthetic.liveness_token(other)).liveness


def test_a_picture_that_is_no_synthetic_face_scores_zero_ish(subject: Subject) -> None:
    image = "aGVsbG8gd29ybGQ="
    assert check(subject, image).score < 0.40


def test_an_unknown_photo_template_is_rejected(subject: Subject) -> None:
    image = synthetic.face_image("ph-unknown")
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.verify("ph-unknown", image, synthetic.liveness_token(image))
    assert caught.value.code == "unknown_photo_template"


@pytest.mark.parametrize("image", ["", "not base64!"])
def test_an_image_that_is_not_base64_is_rejected(subject: Subject, image: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.verify(ME.photo_template_id, image, "live-0")
    assert caught.value.code == "malformed_request"


def test_an_outage_is_unavailable_not_a_failed_match(subject: Subject) -> None:
    image = synthetic.face_image(ME.photo_template_id)
    with subject.outage(), pytest.raises(ConnectorUnavailable):
        check(subject, image)
    assert check(subject, image).liveness
