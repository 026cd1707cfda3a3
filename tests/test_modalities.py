import pytest

from multimodal_photoz import bands, modalities

# Table C.2 of Ait Ouahmed et al. 2024, copied cell by cell.
TABLE_C2 = {
    (2, 1): "u_g, g_r, r_i, i_z, z_y, y_j, j_h, h_k",
    (3, 1): "u_g_r, g_r_i, r_i_z, i_z_y, z_y_j, y_j_h, j_h_k",
    (4, 1): "u_g_r_i, g_r_i_z, r_i_z_y, i_z_y_j, z_y_j_h, y_j_h_k",
    (2, 2): "u_r, g_i, r_z, i_y, z_j, y_h, j_k",
    (3, 2): "u_r_z, g_i_y, r_z_j, i_y_h, z_j_k",
    (4, 2): "u_r_z_j, g_i_y_h, r_z_j_k",
    (2, 3): "u_i, g_z, r_y, i_j, z_h, y_k",
    (3, 3): "u_i_j, g_z_h, r_y_k",
}


@pytest.mark.parametrize("size,order", sorted(TABLE_C2))
def test_table_c2(size, order):
    built = modalities.build("ugrizyjhk", size, orders=(order,))
    assert ", ".join(modalities.name(m) for m in built) == TABLE_C2[(size, order)]


def test_orders_are_concatenated_in_the_order_given():
    built = modalities.build("ugrizyjhk", 2, orders=(2, 1))
    names = [modalities.name(m) for m in built]
    assert names == TABLE_C2[(2, 2)].split(", ") + TABLE_C2[(2, 1)].split(", ")


def test_size_one_and_all_band_modality():
    assert modalities.build("ugriz", 1) == [("u",), ("g",), ("r",), ("i",), ("z",)]
    assert modalities.build("ugriz", 1, orders=(1, 2)) == [("u",), ("g",), ("r",), ("i",), ("z",)]
    built = modalities.build("ugrizy", 2, include_all=True)
    assert built[-1] == tuple("ugrizy") and len(built) == 6


def test_explicit_list():
    assert modalities.parse("u_g,g_r", "ugriz") == [("u", "g"), ("g", "r")]
    assert modalities.parse("gu, ri", "ugriz") == [("u", "g"), ("r", "i")]


def test_channel_indices():
    assert modalities.channel_indices(("g", "i"), "ugriz") == (1, 3)


@pytest.mark.parametrize("call,message", [
    (lambda: modalities.build("ugrx", 2), "unknown band 'x'"),
    (lambda: modalities.build("ugriz", 6), "size 6 is larger than the number of bands (5"),
    (lambda: modalities.build("ugrizyjhk", 4, orders=(3,)), "no modality of size 4 and order 3"),
    (lambda: modalities.build("ugriz", 0), "positive integer"),
    (lambda: modalities.build("gurz", 2), "not in ascending order of wavelength"),
    (lambda: modalities.parse("u_g,y_j", "ugriz"), "not among the input bands"),
    (lambda: bands.parse_bands("ugg"), "appears twice"),
])
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
