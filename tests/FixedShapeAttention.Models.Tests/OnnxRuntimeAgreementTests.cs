using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// End-to-end check of the mapping: ONNX Runtime runs the model file itself, <see cref="ReferenceEncoder"/> runs the
/// loaded weights, and the two last hidden states agree. This is what shows that roles, the [in, out] layout, the head
/// count, ε and the GELU were all inferred right, beyond the tensors being read correctly.
/// </summary>
[Collection(nameof(MiniLmCollection))]
public sealed class OnnxRuntimeAgreementTests(MiniLmFixture fixture)
{
    // float32 inference (ONNX Runtime 1.31.1) against float64 (the reference) through 6 layers of 384: measured at
    // most 2.1e-6 on these three inputs; the bound is 10× that. Wrong mappings measured on the same inputs land far
    // outside it: 6 heads instead of 12 move outputs by ~0.95, layer 0's query matrix transposed by 0.25–0.69, and
    // ε = 1e-5 instead of 1e-12 by 4e-4–8e-4.
    private const double Tolerance = 2e-5;

    [Theory]
    [InlineData("A man is eating food.")]
    [InlineData("The quick brown fox jumps over the lazy dog, twice!")]
    [InlineData("")]
    public void Reference_encoder_over_the_loaded_weights_matches_ONNX_Runtime(string text)
    {
        var ids = new long[32];
        var mask = new long[32];
        var types = new long[32];
        int n = fixture.Tokenizer.Encode(text, ids, mask, types);

        double[,] expected = ReferenceEncoder.Run(fixture.Weights, ids.AsSpan(0, n), types.AsSpan(0, n));
        float[] actual = RunOnnxRuntime(ids[..n], mask[..n], types[..n]);

        int hidden = fixture.Weights.Config.HiddenSize;
        double worst = 0;
        for (int t = 0; t < n; t++)
        {
            for (int j = 0; j < hidden; j++)
                worst = Math.Max(worst, Math.Abs(expected[t, j] - actual[t * hidden + j]));
        }

        Assert.True(worst <= Tolerance, $"largest difference {worst:E2} over {n} tokens");
    }

    private float[] RunOnnxRuntime(long[] ids, long[] mask, long[] types)
    {
        using var session = new InferenceSession(fixture.ModelBytes);
        int[] shape = [1, ids.Length];
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, shape)),
        };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(inputs, ["last_hidden_state"]);
        return results.Single().AsEnumerable<float>().ToArray();
    }
}
