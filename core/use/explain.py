"""Where did the model look? Saliency maps on the uploaded page, and overlays to show them.

Four methods on the bundle's Grad-CAM layer (``metadata.gradcam_layer``):

* **Grad-CAM** weighs each feature map of that layer by the mean gradient of the class score;
* **Grad-CAM++** weighs by positive gradients only, which separates several small findings better;
* **Score-CAM** is gradient-free: it masks the page with each feature map and keeps the score;
* **Vanilla saliency** is the gradient of the class score for every input pixel.

The map belongs to the network input — the ECG grid crop, resized — so :func:`heatmap_on_page`
puts it back through the crop box onto the *original* upload, which is what a student should see.

Grad-CAM, the Predict page's default, is the keras.io recipe compiled with ``tf.function``
(tf-keras-vis runs the model eagerly, 8x slower here; a test checks both give the same map); the
other three come from tf-keras-vis. tf-keras-vis 0.8.7 works on Keras 3 functional models only with
care (see the stack notes), so every method runs on one private clone of the model whose softmax is
replaced by a linear output (class *logits*, which Grad-CAM needs and the out-of-distribution score
uses) and whose input is "ink" (255 − pixel): Score-CAM masks by multiplying with zero, and zero ink
is blank paper, whereas zero pixels would be a black page. If tf-keras-vis or the clone fails,
Grad-CAM stands in and says so in ``Saliency.note``.

TensorFlow is imported inside functions; importing this module stays cheap.
"""
from __future__ import annotations

import contextlib
import io
import warnings
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.ecg import Preprocessing, find_grid_box, load_page, prepare_image
from core.imageio import load_image

METHODS: dict[str, str] = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "scorecam": "Score-CAM",
    "saliency": "Vanilla saliency",
}
COLORMAPS: tuple[str, ...] = ("jet", "inferno", "viridis")
DISPLAY_SIDE = 1100          # longest side of the original kept for overlays and reports
                             # (a 2213-px scan decodes at half scale: 4x fewer pixels)
SCORECAM_MAX_MAPS = 32       # Score-CAM runs one forward pass per feature map; keep the busiest ones
SALIENCY_BLUR_SIGMA = 1.0    # px at network resolution: one-pixel gradients become visible spots


# --- the page as the model saw it --------------------------------------------------------------

@dataclass(frozen=True)
class PageView:
    """One uploaded image, and exactly what the network was shown of it.

    ``box`` is the region handed to the network (the ECG grid crop, or the whole image) as
    fractions ``(x0, y0, x1, y1)`` of the image; ``content`` is the part of ``network_input`` that
    holds that region (all of it, except with ``resize="pad"``, where the rest is padding).
    """

    image: Image.Image
    box: tuple[float, float, float, float]
    box_found: bool
    network_input: np.ndarray
    content: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    grid_box: tuple[float, float, float, float] | None = None

    @property
    def layout_box(self) -> tuple[float, float, float, float]:
        """Where the lead layout sits: the detected ECG grid, else the region the model saw."""
        return self.grid_box or self.box

    @property
    def box_pixels(self) -> tuple[int, int, int, int]:
        """``box`` in pixels of ``image``."""
        w, h = self.image.size
        x0, y0, x1, y1 = self.box
        return round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)


def read_source(source) -> bytes | str | Path:
    """Paths stay paths; uploads and file objects are read once so they can be decoded twice."""
    if isinstance(source, (str, Path, bytes, bytearray)):
        return bytes(source) if isinstance(source, bytearray) else source
    if hasattr(source, "getvalue"):
        return source.getvalue()
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        return source.read()
    raise TypeError(f"cannot read an image from {type(source).__name__}")


def _pad_content(size: tuple[int, int], spec: Preprocessing) -> tuple[float, float, float, float]:
    """Where ``ImageOps.pad`` puts an image of ``size`` inside the network input (centred)."""
    w, h = size
    scale = min(spec.width / w, spec.height / h)
    cw, ch = w * scale / spec.width, h * scale / spec.height
    return ((1 - cw) / 2, (1 - ch) / 2, (1 + cw) / 2, (1 + ch) / 2)


def view_page(source, spec: Preprocessing, *, display_side: int = DISPLAY_SIDE) -> PageView:
    """Load ``source`` (path, bytes, file object or upload) and prepare it for a model with ``spec``.

    The network input is made exactly as in training (:func:`core.ecg.preprocess.load_and_prepare`:
    same decode size, grid crop and resize); the original is kept at up to ``display_side`` px for
    overlays. Raises :class:`core.imageio.ImageLoadError` for files that are not readable images.
    """
    data = read_source(source)
    small = load_page(data, spec)
    box, found = (0.0, 0.0, 1.0, 1.0), False
    cropped = small
    grid = find_grid_box(small)
    grid_box = (grid.x0, grid.y0, grid.x1, grid.y1) if grid.found else None
    if spec.crop == "grid":
        if grid.found:
            box, found = grid_box, True
            w, h = small.size
            # Same rounding as core.ecg.preprocess.crop_page, so the input equals the training input.
            cropped = small.crop((round(grid.x0 * w), round(grid.y0 * h), round(grid.x1 * w), round(grid.y1 * h)))
    network_input = prepare_image(cropped, replace(spec, crop="none"))
    content = _pad_content(cropped.size, spec) if spec.resize == "pad" else (0.0, 0.0, 1.0, 1.0)
    image = load_image(data, max_side=display_side) if max(small.size) < display_side else small
    return PageView(image.convert("RGB"), box, found, network_input, content, grid_box)


# --- heat maps on the page ---------------------------------------------------------------------

def heatmap_on_page(heatmap: np.ndarray, view: PageView, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """A network-input heat map placed on the original image, shape ``(H, W)`` of ``size``
    (default ``view.image.size`` as ``(W, H)``), values in [0, 1] and 0 outside the crop box."""
    width, height = size or view.image.size
    heat = np.asarray(heatmap, dtype="float32")
    hh, hw = heat.shape
    cx0, cy0, cx1, cy1 = view.content
    heat = heat[round(cy0 * hh):max(round(cy1 * hh), round(cy0 * hh) + 1),
                round(cx0 * hw):max(round(cx1 * hw), round(cx0 * hw) + 1)]
    x0, y0, x1, y1 = view.box
    px0, py0 = round(x0 * width), round(y0 * height)
    px1, py1 = max(round(x1 * width), px0 + 1), max(round(y1 * height), py0 + 1)
    resized = Image.fromarray(heat, mode="F").resize((px1 - px0, py1 - py0), Image.Resampling.BILINEAR)
    page = np.zeros((height, width), dtype="float32")
    page[py0:py1, px0:px1] = np.clip(np.asarray(resized), 0.0, 1.0)
    return page


# Colour maps as anchor colours, interpolated to 256 entries (matplotlib is not installed).
# viridis and inferno: matplotlib's values at 0, 0.1, ..., 1.0.
_ANCHORS: dict[str, list[str]] = {
    "viridis": ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884",
                "#44bf70", "#7ad151", "#bddf26", "#fde725"],
    "inferno": ["#000004", "#160b39", "#420a68", "#6a176e", "#932667", "#bc3754", "#dd513a",
                "#f37819", "#fca50a", "#f6d746", "#fcffa4"],
}


def _hex_rgb(code: str) -> tuple[int, int, int]:
    return tuple(int(code[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def colormap_lut(name: str) -> np.ndarray:
    """A ``(256, 3)`` uint8 lookup table for ``name`` in :data:`COLORMAPS`."""
    if name not in COLORMAPS:
        raise ValueError(f"The 'cmap' parameter must be a str among {COLORMAPS}. Got {name!r} instead.")
    x = np.linspace(0.0, 1.0, 256)
    if name == "jet":   # the classic piecewise-linear blue-cyan-yellow-red
        rgb = np.stack([np.clip(1.5 - np.abs(4 * x - c), 0, 1) for c in (3, 2, 1)], axis=1)
        return np.round(rgb * 255).astype("uint8")
    anchors = np.array([_hex_rgb(c) for c in _ANCHORS[name]], dtype="float64")
    at = np.linspace(0.0, 1.0, len(anchors))
    rgb = np.stack([np.interp(x, at, anchors[:, k]) for k in range(3)], axis=1)
    return np.round(rgb).astype("uint8")


def colorize(heat: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Heat values in [0, 1] → RGB ``uint8`` image of the same height and width."""
    index = np.clip(np.nan_to_num(np.asarray(heat, dtype="float32")), 0.0, 1.0) * 255
    return colormap_lut(cmap)[np.round(index).astype("uint8")]


def overlay(image: Image.Image, page_heat: np.ndarray, *, opacity: float = 0.45, cmap: str = "jet",
            box: tuple[float, float, float, float] | None = None, outline: bool = True) -> Image.Image:
    """Blend the coloured heat map over ``image`` inside ``box`` (what the network saw).

    ``page_heat`` comes from :func:`heatmap_on_page` at ``image``'s size. Outside the box the page
    is left as it is and, with ``outline``, a thin dashed frame marks the region the model saw.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"The 'opacity' parameter must be in [0, 1]. Got {opacity!r} instead.")
    base = image.convert("RGB")
    if page_heat.shape != (base.height, base.width):
        raise ValueError(f"heat map shape {page_heat.shape} does not match the image {(base.height, base.width)}")
    h, w = page_heat.shape
    x0, y0, x1, y1 = box or (0.0, 0.0, 1.0, 1.0)
    rect = (round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))
    out = base.copy()
    if rect[2] > rect[0] and rect[3] > rect[1]:
        # Blend only the box, in PIL's C code (a numpy float blend of a full page is 10x slower).
        inside = base.crop(rect)
        colours = Image.fromarray(colorize(page_heat[rect[1]:rect[3], rect[0]:rect[2]], cmap))
        out.paste(Image.blend(inside, colours, opacity), rect[:2])
    if outline and box is not None and box != (0.0, 0.0, 1.0, 1.0):
        _dashed_rectangle(out, (rect[0], rect[1], rect[2] - 1, rect[3] - 1))
    return out


def _dashed_rectangle(image: Image.Image, rect: tuple[int, int, int, int]) -> None:
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = rect
    width = max(1, round(max(image.size) / 600))
    dash = 6 * width
    for a, b in ((x0, x1),):
        for start in range(a, b, 2 * dash):
            draw.line([(start, y0), (min(start + dash, b), y0)], fill=(20, 20, 20), width=width)
            draw.line([(start, y1), (min(start + dash, b), y1)], fill=(20, 20, 20), width=width)
    for start in range(y0, y1, 2 * dash):
        draw.line([(x0, start), (x0, min(start + dash, y1))], fill=(20, 20, 20), width=width)
        draw.line([(x1, start), (x1, min(start + dash, y1))], fill=(20, 20, 20), width=width)


def peak_location(page_heat: np.ndarray) -> tuple[float, float]:
    """``(x, y)`` of the hottest pixel as fractions of the image (the pointing-game point)."""
    h, w = page_heat.shape
    y, x = np.unravel_index(int(np.argmax(page_heat)), page_heat.shape)
    return (x + 0.5) / w, (y + 0.5) / h


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    """PNG encoding of an image or ``uint8`` array (for downloads and reports)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


# --- saliency ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Saliency:
    """A saliency map at network-input resolution, values in [0, 1].

    ``method`` is what was asked for, ``used`` what actually ran (they differ when the fallback
    stood in), ``note`` says why in plain words, and ``flat`` is True when the map is all zeros
    (the class score does not depend on this layer for this image; nothing to show).
    """

    heatmap: np.ndarray
    method: str
    used: str
    class_index: int
    layer: str
    note: str = ""

    @property
    def flat(self) -> bool:
        return not np.any(self.heatmap > 0)


def _normalise(cam: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; an all-zero map stays zero instead of dividing by zero."""
    cam = np.nan_to_num(np.asarray(cam, dtype="float32"))
    cam = np.maximum(cam - cam.min(), 0.0) if cam.min() < 0 else cam
    top = float(cam.max())
    return cam / top if top > 0 else np.zeros_like(cam)


def _resize_map(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if cam.shape == shape:
        return cam.astype("float32")
    return np.asarray(Image.fromarray(cam.astype("float32"), mode="F")
                      .resize((shape[1], shape[0]), Image.Resampling.BILINEAR))


class Explainer:
    """Saliency for one Keras model: the logit clone and the tf-keras-vis visualizers, built once.

    Get one through :func:`explainer_for`, which keeps one per model object (the Predict page
    also caches it with ``st.cache_resource``), so a rerun reuses the clone and the visualizers.
    """

    def __init__(self, model, layer: str | None = None) -> None:
        from core.learn import gradcam_layer

        # Weakly: explainer_for keeps explainers in a WeakKeyDictionary keyed by the model, and a
        # strong reference here would keep every model ever loaded alive (a leak of ~20 MB a model).
        self._model_ref = weakref.ref(model)
        self.layer = layer or gradcam_layer(model)
        self.input_shape = tuple(model.input_shape[1:])
        self.note = ""
        self._visualizers: dict[str, object] = {}
        try:
            self.net, self.has_logits = _ink_logit_clone(model)
        except Exception as exc:  # any Keras/graph failure: Grad-CAM on the original model still works
            self.net, self.has_logits = None, False
            self.note = f"could not prepare the model for tf-keras-vis ({type(exc).__name__}: {exc})"
        self._forward, self._gradcam = _compiled_passes(
            self.net if self.net is not None else model, self.layer, self.input_shape)

    # The network the visualizers and the forward pass run on takes ink (255 - pixel) when the
    # clone exists, raw pixels otherwise.
    @property
    def model(self):
        """The explained model (alive as long as its caller holds it)."""
        return self._model_ref()

    def _net_input(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype="float32")
        return 255.0 - batch if self.net is not None else batch

    def logits_and_features(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class logits ``(N, K)`` and the features the classifier head reads ``(N, F)`` (the input
        of the last layer, flattened) for prepared ``uint8`` images ``(N, H, W, C)``, from one
        forward pass. Without a logit clone (a model whose last layer is not a softmax), the
        "logits" are log-probabilities: fine for ranking classes, not for energy scores."""
        _, out, features = self._forward(self._net_input(batch))
        out = np.asarray(out, dtype="float64")
        logits = out if self.has_logits else np.log(np.clip(out, 1e-12, 1.0))
        return logits, np.asarray(features, dtype="float64").reshape(len(out), -1)

    def gradcam(self, x: np.ndarray, class_index: int) -> np.ndarray:
        """Grad-CAM of ``class_index`` for one network batch ``x`` (ink when there is a clone), raw
        and non-negative at the Grad-CAM layer's resolution."""
        import tensorflow as tf

        return self._gradcam(tf.constant(x, tf.float32), tf.constant(class_index, tf.int32)).numpy()

    def saliency(self, image: np.ndarray, class_index: int, method: str = "gradcam") -> Saliency:
        """The saliency map of ``class_index`` for one prepared image ``(H, W, C)``."""
        if method not in METHODS:
            raise ValueError(f"The 'method' parameter must be a str among {tuple(METHODS)}. Got {method!r} instead.")
        x = self._net_input(np.asarray(image)[None])
        shape = self.input_shape[:2]
        note = self.note
        if method == "gradcam":
            return Saliency(_normalise(_resize_map(self.gradcam(x, class_index), shape)), method, method,
                            class_index, self.layer, note)
        if self.net is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cam = self._tkv(method, x, class_index)
                return Saliency(_normalise(_resize_map(cam, shape)), method, method, class_index, self.layer)
            except Exception as exc:   # tf-keras-vis is unmaintained: never let it take the page down
                note = f"{METHODS[method]} failed in tf-keras-vis ({type(exc).__name__}: {exc})"
        note = (note + "; " if note else "") + "showing Grad-CAM instead"
        return Saliency(_normalise(_resize_map(self.gradcam(x, class_index), shape)), method, "gradcam",
                        class_index, self.layer, note)

    def _visualizer(self, method: str):
        if method not in self._visualizers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # scipy.ndimage.interpolation
                from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
                from tf_keras_vis.saliency import Saliency as TkvSaliency
                from tf_keras_vis.scorecam import Scorecam
            kind = {"gradcam++": GradcamPlusPlus, "scorecam": Scorecam,
                    "saliency": TkvSaliency}[method]
            # The clone already has a linear head; clone=False keeps tf-keras-vis from copying it again.
            self._visualizers[method] = kind(self.net, model_modifier=None, clone=False)
        return self._visualizers[method]

    def _tkv(self, method: str, x: np.ndarray, class_index: int) -> np.ndarray:
        from tf_keras_vis.utils.scores import CategoricalScore

        score = CategoricalScore([class_index])
        visualizer = self._visualizer(method)
        if method == "saliency":
            from scipy.ndimage import gaussian_filter

            sal = np.asarray(visualizer(score, x, smooth_samples=0, normalize_map=False))[0]
            return gaussian_filter(sal, SALIENCY_BLUR_SIGMA)
        # expand_cam=False and normalize_cam=False: the map stays raw at the layer's resolution, and
        # saliency() upsamples and scales it the same way for every method and for the fallback
        # (divided by its maximum, so zero keeps meaning "no influence"; tf-keras-vis would
        # stretch min..max and paint the weakest cell blue even when it mattered).
        options = dict(penultimate_layer=self.layer, seek_penultimate_conv_layer=False,
                       expand_cam=False, normalize_cam=False)
        if method == "scorecam":
            channels = int(self.net.get_layer(self.layer).output.shape[-1])
            options["max_N"] = min(channels, SCORECAM_MAX_MAPS) if channels > SCORECAM_MAX_MAPS else None
            options["batch_size"] = 16
            # Score-CAM calls model.predict, whose progress bar would land in the app's log.
            with contextlib.redirect_stdout(io.StringIO()):
                return np.asarray(visualizer(score, x, **options))[0]
        return np.asarray(visualizer(score, x, **options))[0]


def _compiled_passes(net, layer: str, input_shape: tuple[int, ...]):
    """The two graphs every explanation runs: ``forward(x) → (feature maps, outputs, head
    features)`` and ``gradcam(x, k)`` (the keras.io Grad-CAM recipe), both ``tf.function``-compiled.

    Eagerly, Keras 3 dispatches every layer from Python: on the 448×768 real-page model a forward
    pass took 82 ms that way against 23 ms compiled, a Grad-CAM 212 ms against 28 ms (2 cores).
    """
    import keras
    import tensorflow as tf

    # A single input tensor (not a one-element list), so calls with one array match its structure.
    inputs = net.inputs[0] if len(net.inputs) == 1 else net.inputs
    passes = keras.Model(inputs, [net.get_layer(layer).output, net.output, net.layers[-1].input])
    batch = tf.TensorSpec((None, *input_shape), tf.float32)

    @tf.function(input_signature=[batch])
    def forward(x):
        return passes(x, training=False)

    @tf.function(input_signature=[batch, tf.TensorSpec((), tf.int32)])
    def gradcam(x, class_index):
        with tf.GradientTape() as tape:
            maps, scores, _ = passes(x, training=False)
            score = scores[:, class_index]
        grads = tape.gradient(score, maps, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        weights = tf.reduce_mean(grads, axis=(1, 2))                 # one weight per feature map
        return tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], axis=-1))[0]

    return forward, gradcam


def _ink_logit_clone(model):
    """A copy of ``model`` that takes ink (255 − pixel) and returns logits.

    Returns ``(clone, has_logits)``; ``has_logits`` is False when the last layer was not a softmax
    (then the clone returns whatever the model returned). The original model is not touched.
    """
    import keras

    inputs = keras.Input(shape=model.input_shape[1:], name="ink")
    pixels = keras.layers.Rescaling(-1.0, offset=255.0, name="ink_to_pixels")(inputs)

    def swap_input(layer, *args, **kwargs):
        args = keras.tree.map_structure(lambda t: pixels if t is inputs else t, args)
        return layer(*args, **kwargs)

    clone = keras.models.clone_model(model, input_tensors=inputs, call_function=swap_input)
    for layer in model.layers:
        if layer.weights:
            clone.get_layer(layer.name).set_weights(layer.get_weights())
    head = clone.layers[-1]
    activation = getattr(head, "activation", None)
    has_logits = getattr(activation, "__name__", "") == "softmax"
    if has_logits:
        head.activation = keras.activations.linear
    # Check the copy against the original on a random page before trusting it.
    probe = np.random.default_rng(0).integers(0, 256, (1, *model.input_shape[1:])).astype("float32")
    expected = np.asarray(model(probe, training=False))
    got = np.asarray(clone(255.0 - probe, training=False))
    if has_logits:
        got = np.exp(got - got.max(axis=-1, keepdims=True))
        got /= got.sum(axis=-1, keepdims=True)
    if not np.allclose(got, expected, atol=1e-4):
        raise ValueError("the ink/logit copy of the model does not reproduce its outputs")
    return clone, has_logits


_EXPLAINERS: "weakref.WeakKeyDictionary[object, dict[str, Explainer]]" = weakref.WeakKeyDictionary()


def explainer_for(model, layer: str | None = None) -> Explainer:
    """The :class:`Explainer` of ``model`` (one per model object and layer, built on first use)."""
    per_model = _EXPLAINERS.setdefault(model, {})
    key = layer or ""
    if key not in per_model:
        per_model[key] = Explainer(model, layer)
    return per_model[key]
