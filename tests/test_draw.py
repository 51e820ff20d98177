"""The static figures of convlab.draw, called directly (no browser)."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab import draw


def test_block_layout_agrees_with_torch_unfold():
    lay = draw.block_layout((5, 6), (2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 1))
    x = (torch.arange(30.0) + 1).view(1, 1, 5, 6)
    expected = F.unfold(x, (2, 3), (2, 1), (1, 0), (2, 1))[0].long().numpy() - 1
    assert np.array_equal(lay.pixel_ids, expected)
    assert lay.L == lay.pixel_ids.shape[1] == lay.out_shape[0] * lay.out_shape[1]
    # every block's cells, read in the padded image, are the pixels of its column
    H, W = lay.input_size
    for l in range(lay.L):
        for (r, c), pid in zip(lay.cells[l], lay.pixel_ids[:, l]):
            r, c = r - lay.padding[0], c - lay.padding[1]
            inside = 0 <= r < H and 0 <= c < W
            assert pid == (r * W + c if inside else -1)


def test_block_layout_reports_bad_parameters():
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        draw.block_layout(3, 5)


def test_divisor_picture_describes_counts_and_zeros():
    pic = draw.divisor_picture((5, 5), [dict(kernel_size=2, stride=3)])
    assert "rows: 1 1 0 1 1 / 1 1 0 1 1 / 0 0 0 0 0 / 1 1 0 1 1 / 1 1 0 1 1" in pic.alt
    assert "9 uncovered pixels" in pic.alt
    bundle = pic._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == f"[figure] {pic.alt}"
    assert bundle["text/plain"].startswith("[figure] Divisor")


# --- the static pictures: inline SVG -----------------------------------------

PICTURES = {
    "sliding_blocks": lambda: draw.sliding_blocks_picture(5, 3, padding=1, block=0),
    "sliding_blocks_dilated": lambda: draw.sliding_blocks_picture(7, 3, dilation=2, block=4),
    "divisor": lambda: draw.divisor_picture(
        (7, 7), [dict(kernel_size=3, stride=2), dict(kernel_size=2, stride=3)]
    ),
    "conv_matrix": lambda: draw.conv_matrix_picture((4, 4), kernel_size=3),
    "block_starts": lambda: draw.block_starts_picture(12, 3, stride=3, padding=1),
    "phase_taps": lambda: draw.phase_taps_picture(4, 2),
    "fold_adds": lambda: draw.fold_adds_picture(torch.arange(16.0).view(4, 4), 2),
    "taps": lambda: draw.taps_picture(
        [dict(size=8, kernel_size=2, stride=3), dict(size=6, kernel_size=2, padding=1, dilation=2)]
    ),
    "two_sizes": lambda: draw.two_sizes_picture(224, 3, stride=2, dilation=2),
    "phase_taps_3": lambda: draw.phase_taps_picture((3, 5), (3, 2), padding=1),
    "values": lambda: draw.values_picture(
        [("a", [[100, 87], [115, 99]]), ("b", [[100, 100], [100, 100]])], header="h", footer="f"
    ),
}


def _luminance(color):
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a, b):
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(color):
    color = color.lower()
    return "#" + "".join(c * 2 for c in color[1:]) if len(color) == 4 else color


@pytest.mark.parametrize("name", PICTURES)
def test_picture_is_one_inline_svg_with_real_text(name):
    pic = PICTURES[name]()
    html = pic._repr_mimebundle_()["text/html"]
    assert html.startswith('<figure class="convlab-figure"')
    assert "background:#fff" in html  # a white card, in JupyterLab and in dark mode
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 1
    assert 'role="img"' in svgs[0]
    label = re.search(r'aria-label="([^"]*)"', svgs[0]).group(1)
    assert len(label) > 40 and label.startswith(pic.alt[:30])
    assert "<img" not in html and "data:image" not in html
    assert "<?xml" not in html and "<!DOCTYPE" not in html and "<!--" not in html
    assert "<metadata" not in html
    assert not re.search(r'<svg\b[^>]* (width|height)="', html), "fixed size: it cannot scale"
    assert "viewBox=" in svgs[0] and "max-width:100%" in svgs[0]
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", html)
    assert len(texts) > 10, "labels are not <text> (drawn as paths?)"
    assert all(t.strip() for t in texts)
    assert "<image" not in html  # no embedded raster
    # ids are unique to the drawing: two pictures on one page never clash
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    prefixes = {i.split("-")[0] for i in ids}
    assert len(prefixes) <= 1


@pytest.mark.parametrize("name", PICTURES)
def test_picture_is_deterministic(name):
    assert PICTURES[name]().to_html() == PICTURES[name]().to_html()


@pytest.mark.parametrize("name", PICTURES)
def test_picture_labels_are_legible_and_read_on_their_fills(name):
    pic = PICTURES[name]()
    assert pic.smallest_font >= draw.SMALL_PT >= 11
    width, _ = pic.size
    assert width <= draw.MAX_WIDTH + 12, "wider than the 1280 px page's column"
    # on a phone it stops shrinking where its smallest label is 9 px
    assert pic.min_width * pic.smallest_font / width >= draw.PHONE_MIN_FONT_PX - 1e-9
    assert f"min-width:{pic.min_width}px" in pic.to_html()
    # every fill a label can sit on reads with black text at 4.5:1 or more
    svg = pic.svg
    text_colors = {_hex(c) for c in re.findall(r"<text[^>]*fill: (#[0-9a-fA-F]{3,6})", svg)}
    text_colors |= {"#000000"}
    fills = {_hex(c) for c in re.findall(r"fill: (#[0-9a-fA-F]{3,6})", svg)}
    fills |= {_hex(c) for c in re.findall(r'fill="(#[0-9a-fA-F]{3,6})"', svg)}
    hatch = {_hex(c) for c in re.findall(r"<pattern.*?stroke: (#[0-9a-fA-F]{3,6})", svg)}
    for text in text_colors:
        for under in fills | hatch:
            assert _contrast(text, under) >= 4.5, (text, under)


def test_tints_read_with_black_labels():
    for name, tint in draw.TINT.items():
        assert _contrast("#000000", tint) >= 4.5, name
    for v in range(5):
        assert _contrast("#000000", draw.count_shade(v, 4)) >= 4.5


def test_sliding_blocks_picture_marks_padding_apart_from_pixel_zero():
    pic = draw.sliding_blocks_picture(5, 3, padding=1, block=0)
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
    assert "x0" in texts and "x24" in texts  # pixels are xN ...
    assert texts.count("0") >= 24 + 5  # ... the 24 padding cells and the matrix's zeros are 0
    assert "<pattern" in pic.svg  # hatched
    assert "stroke-dasharray" in pic.svg  # dashed border
    assert "padding zero" in " ".join(texts)  # the legend says so
    assert "5 of them are padding zeros" in pic.alt
    # without padding there is no padding legend
    plain = draw.sliding_blocks_picture(5, 2, block=6)
    assert "padding zero" not in plain.svg
    assert plain.alt.startswith("unfold with kernel_size=2, stride=1, padding=0, dilation=1")
    assert "Block l=6: " in plain.alt and "cell (1, 2) of the block grid" in plain.alt


def test_sliding_blocks_picture_reports_a_bad_block():
    with pytest.raises(ValueError, match=r"blocks are numbered 0\.\.3"):
        draw.sliding_blocks_picture(4, 2, stride=2, block=4)
    with pytest.raises(TypeError, match="block"):
        draw.sliding_blocks_picture(4, 2, block=1.5)
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        draw.sliding_blocks_picture(3, 5)


def test_divisor_picture_shares_one_scale_across_panels():
    import convlab

    pic = draw.divisor_picture(
        (7, 7), [dict(kernel_size=2, stride=3), dict(kernel_size=3, stride=2)]
    )
    # panel 1 counts at most 1, panel 2 up to 4: a 1 is shaded the same in both,
    # as a 1 of a 0..4 scale, not as the darkest shade of panel 1
    assert "one shading scale for all panels, 0 to 4" in pic.alt

    def cells_filled(svg, color):
        classes = {
            name
            for name, style in re.findall(r"\.([\w-]+)\{([^}]*)\}", svg)
            if f"fill: {color.lower()}" in style.lower()
        }
        return sum(
            1
            for attrs in re.findall(r"<rect\b([^>]*)>", svg)
            if f"fill: {color.lower()}" in attrs.lower()
            or any(f'class="{c}"' in attrs for c in classes)
        )

    darkest = draw.count_shade(4, 4)
    assert darkest == draw.count_shade(1, 1) != draw.count_shade(1, 4)
    # the darkest shade: the four 4s of the second panel and the legend's 4, no 1
    assert cells_filled(pic.svg, darkest) == 4 + 1
    ones = sum(
        int((convlab.fold_divisor((7, 7), k, stride=st) == 1).sum()) for k, st in ((2, 3), (3, 2))
    )
    assert cells_filled(pic.svg, draw.count_shade(1, 4)) == ones + 1
    alone = draw.divisor_picture((7, 7), [dict(kernel_size=2, stride=3)])
    assert cells_filled(alone.svg, draw.count_shade(1, 1)) == 16 + 1  # its own 0..1 scale
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
    assert "one shading scale for every panel" in " ".join(texts)


def test_uneven_overlap_figure_shows_the_border_and_the_dilated_case():
    """Chapter 2's fig-uneven-overlap: three panels (two on the first row), one scale
    0 to 9; the words name the dilated panel's zeros and its row 2."""
    pic = draw.divisor_picture(
        (9, 9),
        [
            dict(kernel_size=3, stride=2),
            dict(kernel_size=4, stride=2, padding=1, output_size=(10, 10)),
            dict(kernel_size=4, stride=2, dilation=2, output_size=(12, 12)),
        ],
    )
    assert "one shading scale for all panels, 0 to 9" in pic.alt
    assert "k=4, s=2, p=0, d=2 on 12x12: counts from 0 to 9, 108 uncovered pixels" in pic.alt
    assert "2 0 4 0 6 0 6 0 4 0 2 0" in pic.alt
    assert "k=4, s=2, p=1, d=1 on 10x10: counts from 1 to 4, no zeros" in pic.alt
    width, _ = pic.size
    assert width <= draw.MAX_WIDTH + 12
    assert pic.smallest_font >= draw.SMALL_PT


def test_divisor_picture_reports_bad_panels():
    with pytest.raises(TypeError, match="list of dicts"):
        draw.divisor_picture((5, 5), dict(kernel_size=2))
    with pytest.raises(ValueError, match="empty"):
        draw.divisor_picture((5, 5), [])
    with pytest.raises(ValueError, match="unknown panel parameter"):
        draw.divisor_picture((5, 5), [dict(kernel=2)])


def test_picture_escapes_its_description_and_checks_its_arguments():
    pic = draw.conv_matrix_picture((3, 3), kernel_size=2)
    evil = draw.Picture(pic.svg, 'a "quoted" <b>figure</b> & more, described at length')
    html = evil.to_html()
    assert 'aria-label="a &quot;quoted&quot; &lt;b&gt;figure&lt;/b&gt; &amp; more' in html
    assert "<b>" not in html
    with pytest.raises(TypeError):
        draw.Picture(b"<svg/>", "words")
    with pytest.raises(ValueError, match="viewBox"):
        draw.Picture("<svg></svg>", "words")
    with pytest.raises(ValueError, match="description"):
        draw.Picture(pic.svg, "  ")


def test_count_colors_are_divisor_pictures_scale_and_read_with_black():
    for vmax in range(0, 17):
        colors = draw.count_colors(vmax)
        assert len(colors) == max(vmax, 0) + 1
        assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors)
        assert colors[0] == "#FFFFFF"
        for color in colors:
            assert _contrast("#000000", color) >= 4.5, (vmax, color)
        if vmax >= 1:
            assert colors[-1] == draw.TINT["count"]
            # darker as the count grows
            lum = [_luminance(c) for c in colors]
            assert lum == sorted(lum, reverse=True)
    # the very fills of divisor_picture's cells: one cell per count (legend included)
    pic = draw.divisor_picture((7, 7), [dict(kernel_size=3, stride=2)])
    divisor = draw.ops.fold_divisor((7, 7), 3, 1, 0, 2).long().numpy()
    colors = draw.count_colors(int(divisor.max()))
    styles = dict(re.findall(r"\.([\w-]+)\{([^}]*)\}", pic.svg))
    fills = []
    for attrs in re.findall(r"<rect\b([^>]*)>", pic.svg):
        style = re.search(r'style="([^"]*)"', attrs)
        cls = re.search(r'class="([^"]*)"', attrs)
        style = style.group(1) if style else styles.get(cls.group(1), "") if cls else ""
        m = re.search(r"fill: (#[0-9a-fA-F]{6})", style)
        if m and m.group(1).upper() in colors:
            fills.append(m.group(1).upper())
    for v, color in enumerate(colors):
        expected = int((divisor == v).sum()) + 1  # the cells, and the legend's swatch
        if v == 0:  # white is also the page's background: at least that many
            assert fills.count(color) >= expected
        else:
            assert fills.count(color) == expected, (v, color)


def test_uncovered_pixels_have_their_own_mark_not_hatching():
    # no padding: the only hatching a divisor picture could have is gone
    pic = draw.divisor_picture((5, 5), [dict(kernel_size=2, stride=3)])
    assert "<pattern" not in pic.svg and "hatch" not in pic.svg
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
    assert draw.UNCOVERED_LEGEND in texts
    assert "stroke-dasharray" in pic.svg  # the dotted box
    assert "font-weight: 700" in pic.svg or "bold" in pic.svg  # the bold 0
    # without an uncovered pixel the legend does not name the mark; a header replaces
    full = draw.divisor_picture((5, 5), [dict(kernel_size=3)], header="stamps per pixel")
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", full.svg)
    assert draw.UNCOVERED_LEGEND not in texts and "stamps per pixel" in texts


def test_divisor_picture_lays_three_panels_in_two_rows():
    three = draw.divisor_picture(
        (7, 7),
        [
            dict(kernel_size=3, stride=2),
            dict(kernel_size=4, stride=2),
            dict(kernel_size=2, stride=3),
        ],
    )
    # narrow enough for a 390 px phone page (342 px of room) without scrolling
    assert three.min_width + draw._NARROW_CHROME_PX <= 390
    assert three.smallest_font >= draw.SMALL_PT


def test_sliding_blocks_picture_has_a_legend_for_every_mark():
    def legend(pic):
        return " / ".join(re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg))

    plain = legend(draw.sliding_blocks_picture(5, 2, block=6))
    for words in (
        "orange, thick outlines: the block",
        "blue, thick outline: its column",
        "green, thick outline: its cell in the block grid",
        "xn: pixel n of x",
    ):
        assert words in plain
    assert "dashed box" not in plain and "padding" not in plain
    dilated = legend(draw.sliding_blocks_picture(7, 3, dilation=2, block=4))
    assert "dashed box: the block's span" in dilated
    padded = legend(draw.sliding_blocks_picture(5, 3, padding=1, block=0))
    assert "hatched, dashed border, 0: a padding zero" in padded
    assert "dashed box" not in padded


# --- chapter 4: scatter, C and C^T, the 1-D gather ------------------------------

PICTURES["scatter"] = lambda: draw.scatter_picture(
    torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.arange(1.0, 10.0).view(3, 3), stride=2
)
PICTURES["conv_matrix_pair"] = lambda: draw.conv_matrix_pair_picture((3, 3), kernel_size=2)
PICTURES["gather_1d"] = lambda: draw.gather_1d_picture(3, 4, stride=2, padding=1, output_padding=1)


def test_scatter_picture_sums_the_stamps_as_conv_transpose2d():
    x, w = torch.tensor([[1.0, -2.0], [3.0, 4.0]]), torch.arange(1.0, 7.0).view(2, 3)
    for s in (1, 2, 3, (2, 1)):
        pic = draw.scatter_picture(x, w, stride=s)
        y = F.conv_transpose2d(x[None, None], w[None, None], stride=s)[0, 0].long()
        rows = " / ".join(" ".join(str(int(v)) for v in row) for row in y)
        assert pic.alt.endswith(rows)
    with pytest.raises(ValueError, match="at most 4"):
        draw.scatter_picture(torch.ones(3, 3), w)
    with pytest.raises(ValueError, match="2-D"):
        draw.scatter_picture(torch.ones(1, 2, 2), w)
    with pytest.raises(TypeError):
        draw.scatter_picture([[1.0]], w)


def test_conv_matrix_pair_picture_rows_of_c_transpose_are_the_stamps():
    pic = draw.conv_matrix_pair_picture((3, 3), kernel_size=2)
    # output pixel 4 (the centre) receives all four taps, one from each input pixel
    assert "4: w11@0 w10@1 w01@2 w00@3" in pic.alt
    assert "C, 4 x 9" in pic.alt and "C^T, 9 x 4" in pic.alt
    # the same pairs as conv_transpose2d of one-hot inputs and one-hot kernels
    for o in range(4):
        for t in range(4):
            e = torch.zeros(4)
            e[o] = 1
            k = torch.zeros(4)
            k[t] = 1
            y = F.conv_transpose2d(e.view(1, 1, 2, 2), k.view(1, 1, 2, 2))[0, 0].flatten()
            j = int(y.argmax())
            assert f"w{t // 2}{t % 2}@{o}" in pic.alt.split(" / ")[j] or j == 0


def test_gather_1d_reads_are_what_conv_transpose1d_sums():
    import itertools

    for n, k, s, d, op in itertools.product((1, 3, 5), (1, 2, 4), (1, 2, 3), (1, 2), (0, 1)):
        for p in range(d * (k - 1) + 1):
            out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if op >= max(s, d) or out < 1:
                continue
            _, reads = draw.gather_1d_reads(n, k, s, p, d, op)
            out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            assert len(reads) == out
            for r, t in itertools.product(range(n), range(k)):
                x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
                x[0, 0, r] = w[0, 0, t] = 1
                y = F.conv_transpose1d(x, w, None, s, p, op, 1, d)[0, 0]
                for o in range(out):
                    assert (y[o] == 1) == ((t, r) in reads[o]), (n, k, s, p, d, op, o)
    with pytest.raises(ValueError, match="crops"):
        draw.gather_1d_picture(3, 2, padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        draw.gather_1d_picture(3, 3, stride=2, output_padding=2)
    pic = draw.gather_1d_picture(3, 4, stride=2, padding=1, output_padding=1)
    assert "y0 = w1*x0; y6 = w3*x2" in pic.alt
    assert "q = dil(k-1) - p = 2" in pic.alt


def test_block_starts_picture_counts_like_unfold_and_marks_what_the_floor_drops():
    import itertools

    for n, k, s, p, d in itertools.product((1, 5, 12), (1, 3), (1, 2, 3), (0, 1), (1, 2)):
        if d * (k - 1) + 1 > n + 2 * p:
            continue
        pic = draw.block_starts_picture(n, k, stride=s, padding=p, dilation=d)
        out = F.unfold(torch.zeros(1, 1, 1, n), (1, k), (1, d), (0, p), (1, s)).shape[-1]
        m = n + 2 * p - d * (k - 1) - 1
        assert f"+ 1 = {out}." in pic.alt
        texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
        assert f"block {out - 1}: start {(out - 1) * s}" in texts
        assert f"block {out}: start {out * s}" not in texts
        assert f"floor drops {m % s} position" in " ".join(texts)
        assert ("read by no block" in pic.alt) == (m % s > 0)
    pic = draw.block_starts_picture(12, 3, stride=3, padding=1)
    assert "Positions 12, 13 (x11, a padding zero) are read by no block" in pic.alt
    assert "dotted box: read by no block" in pic.svg
    assert "span d(k-1)+1 = 1*(3-1)+1 = 3" in pic.svg
    assert "stroke-dasharray" in pic.svg and "<pattern" in pic.svg  # span box, padding


def test_block_starts_picture_reports_bad_parameters():
    with pytest.raises(ValueError, match="kernel larger than padded input"):
        draw.block_starts_picture(3, 5, padding=0)
    with pytest.raises(ValueError, match="kernel_size"):
        draw.block_starts_picture(5, (3, 3))
    with pytest.raises(ValueError, match="input_size"):
        draw.block_starts_picture(0, 1)


def test_phase_taps_picture_names_the_taps_torch_lands_on_each_phase():
    """Each phase's taps in the picture are those a one-hot kernel shows landing there."""
    import itertools

    import torch.nn.functional as F

    for k, s, p in itertools.product(range(1, 6), range(1, 4), range(3)):
        pic = draw.phase_taps_picture(k, s, padding=p)
        for a in range(s):
            found = set()
            for t in range(k):
                onehot = torch.zeros(1, 1, k, dtype=torch.float64)
                onehot[0, 0, t] = 1
                y = F.conv_transpose1d(
                    torch.ones(1, 1, 6, dtype=torch.float64), onehot, stride=s, padding=p
                )
                if any(y[0, 0, o] != 0 for o in range(a, y.shape[-1], s)):
                    found.add(t)
            expected = (
                " ".join(draw.tap_label(i, j) for i in sorted(found) for j in sorted(found))
                or "no tap, always 0"
            )
            where = f"(output rows o with o mod {s} = {a}, columns mod {s} = {a})"
            assert f"phase ({a}, {a}) {where}: {expected}" in pic.alt, (k, s, p, a)
    with pytest.raises(ValueError, match="stride"):
        draw.phase_taps_picture(4, 5)
    with pytest.raises(ValueError, match="kernel_size"):
        draw.phase_taps_picture(0, 2)


def test_values_picture_shares_one_scale_and_describes_every_value():
    pic = draw.values_picture(
        [("left", torch.tensor([[1.0, 2.0], [3.0, 4.0]])), ("right", [[4.0, 4.0], [4.0, 4.0]])],
        header="two grids",
        decimals=1,
    )
    assert "Shading from white (1.0) to blue (4.0)" in pic.alt
    assert "left: rows 1.0 2.0 / 3.0 4.0. right: rows 4.0 4.0 / 4.0 4.0" in pic.alt
    # the largest value has the same (darkest) fill in both panels
    assert pic.svg.lower().count(draw.TINT["count"].lower()) >= 1
    with pytest.raises(TypeError, match="panels"):
        draw.values_picture([])
    with pytest.raises(TypeError, match="pair"):
        draw.values_picture([[[1, 2]]])
    with pytest.raises(ValueError, match="2-D"):
        draw.values_picture([("a", [1, 2])])


def test_fold_adds_picture_writes_out_the_sum_fold_computes():
    x = torch.arange(16.0).view(4, 4)
    pic = draw.fold_adds_picture(x, 2, pixel=(1, 1))
    back = F.fold(F.unfold(x[None, None], 2), (4, 4), 2)[0, 0]
    assert "columns 0, 1, 3, 4" in pic.alt and "5 + 5 + 5 + 5 = 20" in pic.alt
    assert (
        "fold(cols), rows: " + " / ".join(" ".join(str(int(v)) for v in row) for row in back)
        in pic.alt
    )
    # a corner is read once, with stride and padding too
    pic = draw.fold_adds_picture(x, 3, stride=2, padding=1, pixel=(0, 0))
    assert "= 0." in pic.alt or ": 0 = 0" in pic.alt
    with pytest.raises(ValueError, match="not a pixel"):
        draw.fold_adds_picture(x, 2, pixel=(4, 0))
    with pytest.raises(TypeError, match="2-D tensor"):
        draw.fold_adds_picture(x[None], 2)


def test_taps_picture_names_each_cause_as_fold_counts_it():
    pic = draw.taps_picture(
        [
            dict(size=8, kernel_size=2, stride=3),
            dict(size=7, kernel_size=2, stride=2, dilation=2),
            dict(size=8, kernel_size=3, stride=2),
            dict(size=6, kernel_size=2, stride=2, dilation=2),
        ]
    )
    assert "gap: pixel 2, 5" in pic.alt
    assert "hole: pixel 1, 3, 5" in pic.alt
    assert "dropped: pixel 7" in pic.alt
    assert "hole: pixel 1, 3; dropped: pixel 5" in pic.alt
    for n, k, s, p, d in [(8, 2, 3, 0, 1), (6, 3, 2, 2, 2), (9, 2, 4, 1, 3)]:
        pic = draw.taps_picture([dict(size=n, kernel_size=k, stride=s, padding=p, dilation=d)])
        counts = F.fold(
            F.unfold(torch.ones(1, 1, 1, n), (1, k), (1, d), (0, p), (1, s)),
            (1, n),
            (1, k),
            (1, d),
            (0, p),
            (1, s),
        )
        shown = " ".join(str(int(v)) for v in counts.flatten())
        assert f"count per pixel: {shown};" in pic.alt
    with pytest.raises(ValueError, match="size"):
        draw.taps_picture([dict(kernel_size=2)])
    with pytest.raises(TypeError):
        draw.taps_picture(dict(size=4))


def test_two_sizes_picture_has_the_forum_numbers():
    pic = draw.two_sizes_picture(224, 3, stride=2, dilation=2)
    for words in ["224 x 224", "110 x 110", "L = 12100", "53 x 53", "L = 2809", "(223 or 224)"]:
        assert words in pic.alt
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", pic.svg)
    assert any("(224 - 5) // 2 + 1 = 110" in t for t in texts)
