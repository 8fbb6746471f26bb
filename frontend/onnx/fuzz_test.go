package onnx_test

import (
	"io/fs"
	"testing"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/ir"
)

// FuzzReadONNX feeds arbitrary bytes to Load (and DecodeTensor): they must
// return an error or a graph that verifies, never panic. Seeds: models
// built here and testdata/fuzz/FuzzReadONNX (node-test models, some
// truncated or with a flipped byte).
func FuzzReadONNX(f *testing.F) {
	f.Add(shapeMathModel().bytes(f))
	f.Add(newModel(17).input("x", 2, 3).
		node("Conv", []string{"x", "w"}, []string{"y"}, attrInts("pads", 1, 1)).
		floats("w", []int64{1, 1, 3}, 1, 2, 3).output("y").bytes(f))
	f.Add([]byte{})
	// One model of each op family the importer learned for the whole
	// conformance suite, from the archive.
	fsys := backendData(f)
	for _, name := range fuzzSeedTests {
		data, err := fs.ReadFile(fsys, "node/"+name+"/model.onnx")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := onnx.Load(data, onnx.Options{})
		if err == nil {
			if err := ir.Verify(g); err != nil {
				t.Fatalf("Load returned a graph that does not verify: %v", err)
			}
		}
		onnx.DecodeTensor(data)
	})
}

// fuzzSeedTests are conformance tests whose models seed FuzzReadONNX.
var fuzzSeedTests = []string{
	"test_equal_bcast", "test_where_long_example", "test_max_example", "test_mod_mixed_sign_int32",
	"test_bitshift_left_uint16", "test_not_2d", "test_sin", "test_elu", "test_selu_default", "test_isinf",
	"test_reduce_max_keepdims_example", "test_reduce_log_sum_exp_keepdims_example", "test_argmax_keepdims_example_select_last_index",
	"test_top_k", "test_hardmax_axis_1", "test_cumsum_1d_reverse_exclusive", "test_tile", "test_triu_one_row",
	"test_onehot_with_axis", "test_gather_elements_1", "test_scatter_elements_with_reduction_max", "test_gathernd_example_int32_batch_dim1",
	"test_scatternd_add", "test_einsum_batch_matmul", "test_range_float_type_positive_delta_expanded", "test_eyelike_with_dtype",
	"test_reflect_pad", "test_depthtospace_crd_mode_example", "test_rms_normalization_2d_axis1", "test_group_normalization_example",
	"test_instancenorm_example", "test_lpnormalization_default", "test_resize_downsample_scales_cubic_antialias",
	"test_resize_tf_crop_and_resize_axes_2_3", "test_attention_4d_gqa_with_past_and_present", "test_attention_3d_attn_mask_expanded",
	"test_quantizelinear_blocked_asymmetric", "test_dequantizelinear_axis", "test_qlinearmatmul_3D_uint8_float32",
	"test_dynamicquantizelinear_expanded", "test_center_crop_pad_crop_and_pad", "test_bitcast_float32_to_int32", "test_swiglu",
	"test_size_example", "test_castlike_FLOAT_to_DOUBLE_expanded", "test_clip_default_int8_inbounds", "test_dropout_default_mask",
	"test_gridsample_reflection_padding", "test_gridsample_volumetric_nearest_align_corners_1", "test_affine_grid_3d_align_corners",
	"test_reversesequence_batch", "test_tensorscatter_circular", "test_maxunpool_export_with_output_shape", "test_col2im_pads",
	"test_det_nd",
}
