"""The high-resolution lead-panel CNN keeps a page-level Grad-CAM map at 1/16 of any allowed input."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("shape", [(448, 768, 1), (320, 512, 1)])
def test_leadnet_hr_has_a_page_level_gradcam_map_and_rejects_odd_sizes(shape) -> None:
    from core.learn import build_model, gradcam_layer

    model = build_model("leadnet_hr", shape, 5)
    assert gradcam_layer(model) == "last_conv"
    conv = model.get_layer("last_conv").output
    assert (conv.shape[1] * 16, conv.shape[2] * 16) == shape[:2]
    assert model.output_shape == (None, 5)
    with pytest.raises(ValueError, match="divisible"):
        build_model("leadnet_hr", (448, 760, 1), 5)
