package runtime

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestErrors(t *testing.T) {
	err := InputSizeError("image", 10, 3072)
	require.ErrorIs(t, err, ErrInputSize)
	require.EqualError(t, err, `input "image": wrong input size: got 10 elements, want 3072`)

	err = OutputSizeError("logits", 9, 10)
	require.ErrorIs(t, err, ErrOutputSize)
	require.EqualError(t, err, `output "logits": wrong output size: got 9 elements, want 10`)

	for _, tc := range []struct {
		elems, per, max, n int
		want               error
	}{
		{elems: 3072, per: 3072, max: 1, n: 1},
		{elems: 3 * 3072, per: 3072, max: 4, n: 3},
		{elems: 4 * 3072, per: 3072, max: 4, n: 4},
		{elems: 5 * 3072, per: 3072, max: 4, want: ErrBatch},
		{elems: 3071, per: 3072, max: 4, want: ErrInputSize},
		{elems: 3073, per: 3072, max: 4, want: ErrInputSize},
		{elems: 0, per: 3072, max: 4, want: ErrInputSize},
	} {
		n, err := BatchOf("image", tc.elems, tc.per, tc.max)
		if tc.want != nil {
			require.ErrorIs(t, err, tc.want, "%+v", tc)
			require.Zero(t, n)
			require.False(t, errors.Is(err, ErrBatch) && errors.Is(err, ErrInputSize))
			continue
		}
		require.NoError(t, err, "%+v", tc)
		require.Equal(t, tc.n, n)
	}
	_, err = BatchOf("image", 5*3072, 3072, 4)
	require.EqualError(t, err, `input "image": batch larger than the model's max batch: got batch 5, max 4 (raise it with WithMaxBatch)`)
}
