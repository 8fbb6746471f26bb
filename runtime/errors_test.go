package runtime

import (
	"errors"
	"testing"
)

func TestErrors(t *testing.T) {
	err := InputSizeError("image", 10, 3072)
	isTrue(t, errors.Is(err, ErrInputSize), "got %v, want %v", err, ErrInputSize)
	errorText(t, err, `input "image": wrong input size: got 10 elements, want 3072`)

	err = OutputSizeError("logits", 9, 10)
	isTrue(t, errors.Is(err, ErrOutputSize), "got %v, want %v", err, ErrOutputSize)
	errorText(t, err, `output "logits": wrong output size: got 9 elements, want 10`)

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
			isTrue(t, errors.Is(err, tc.want), "%+v", tc)
			equal(t, 0, n)
			isTrue(t, !(errors.Is(err, ErrBatch) && errors.Is(err, ErrInputSize)))
			continue
		}
		noError(t, err, "%+v", tc)
		equal(t, tc.n, n)
	}
	_, err = BatchOf("image", 5*3072, 3072, 4)
	errorText(t, err, `input "image": batch larger than the model's max batch: got batch 5, max 4 (raise it with WithMaxBatch)`)
}
