using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// The generated FeedForwardForTraining and FeedForwardBackward of test shapes covering every activation, against a
/// float64 forward and backward pass written out below (the activation and its derivative from the reference model).
/// </summary>
public class GeneratedFeedForwardBackwardTests
{
    private delegate void Forward(float[] x, float[] w1, float[] b1, float[] w2, float[] b2, float[] y, float[] hidden, float[] activated, int dop);

    private delegate void Backward(
        float[] x, float[] w1, float[] w2, float[] hidden, float[] activated, float[] dy, float[] dx, float[] dw1, float[] db1, float[] dw2, float[] db2, float[] dh, int dop);

    private sealed record Kernels(TransformerShape Shape, Forward Forward, Backward Backward);

    private static readonly Dictionary<string, Kernels> s_kernels = new()
    {
        [nameof(WorkedExample)] = Of<WorkedExample>(),
        [nameof(Odd)] = Of<Odd>(),
        [nameof(CausalGelu)] = Of<CausalGelu>(),
        [nameof(CausalSilu)] = Of<CausalSilu>(),
        [nameof(GeluTanhShape)] = Of<GeluTanhShape>(),
        [nameof(Medium)] = Of<Medium>(),
        [nameof(ColumnSplitTail)] = Of<ColumnSplitTail>(),
    };

    private static Kernels Of<T>()
        where T : ITrainingKernels => new(
        T.Shape,
        (x, w1, b1, w2, b2, y, h, a, dop) => T.FeedForwardForTraining(x, w1, b1, w2, b2, y, h, a, dop),
        (x, w1, w2, h, a, dy, dx, dw1, db1, dw2, db2, dh, dop) => T.FeedForwardBackward(x, w1, w2, h, a, dy, dx, dw1, db1, dw2, db2, dh, dop));

    public static TheoryData<string> Shapes() => new(s_kernels.Keys);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Outputs_and_gradients_match_the_float64_reference(string shapeName)
    {
        Kernels kernels = s_kernels[shapeName];
        TransformerShape shape = kernels.Shape;
        int batch = 2, rows = batch * shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        float[] x = TestData.Uniform(rows * e, 31), dy = TestData.Uniform(rows * e, 32);
        float[] w1 = TestData.Uniform(e * f, 33, (float)Math.Sqrt(3.0 / e)), b1 = TestData.Uniform(f, 34, 0.1f);
        float[] w2 = TestData.Uniform(f * e, 35, (float)Math.Sqrt(3.0 / f)), b2 = TestData.Uniform(e, 36, 0.1f);
        float[] y = new float[rows * e], hidden = new float[rows * f], activated = new float[rows * f], dh = new float[rows * f], dx = new float[rows * e];
        // The weight and bias gradients are added to: start them at a known value.
        float[] dw1 = Enumerable.Repeat(0.5f, e * f).ToArray(), db1 = Enumerable.Repeat(0.5f, f).ToArray();
        float[] dw2 = Enumerable.Repeat(0.5f, f * e).ToArray(), db2 = Enumerable.Repeat(0.5f, e).ToArray();

        kernels.Forward(x, w1, b1, w2, b2, y, hidden, activated, 1);
        kernels.Backward(x, w1, w2, hidden, activated, dy, dx, dw1, db1, dw2, db2, dh, -1);

        // float64: h = x·W1 + b1, a = act(h), y = a·W2 + b2; dW2 = aᵀ·dy, db2 = Σ dy, dh = (dy·W2ᵀ) ∘ act′(h), dW1 = xᵀ·dh, db1 = Σ dh, dx = dh·W1ᵀ.
        var h = new double[rows * f];
        var a = new double[rows * f];
        var wantY = new double[rows * e];
        var dhWant = new double[rows * f];
        var wantDx = new double[rows * e];
        var wantDw1 = Enumerable.Repeat(0.5, e * f).ToArray();
        var wantDb1 = Enumerable.Repeat(0.5, f).ToArray();
        var wantDw2 = Enumerable.Repeat(0.5, f * e).ToArray();
        var wantDb2 = Enumerable.Repeat(0.5, e).ToArray();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < f; j++)
            {
                double sum = b1[j];
                for (int i = 0; i < e; i++)
                    sum += (double)x[r * e + i] * w1[i * f + j];
                h[r * f + j] = sum;
                a[r * f + j] = Reference.Activate(shape.Activation, sum);
            }

            for (int c = 0; c < e; c++)
            {
                double sum = b2[c];
                for (int j = 0; j < f; j++)
                    sum += a[r * f + j] * w2[j * e + c];
                wantY[r * e + c] = sum;
                wantDb2[c] += dy[r * e + c];
            }

            for (int j = 0; j < f; j++)
            {
                double g = 0;
                for (int c = 0; c < e; c++)
                {
                    g += (double)dy[r * e + c] * w2[j * e + c];
                    wantDw2[j * e + c] += a[r * f + j] * dy[r * e + c];
                }

                double dhj = g * ReferenceGpt.ActivationDerivative(shape.Activation, h[r * f + j]);
                dhWant[r * f + j] = dhj;
                wantDb1[j] += dhj;
                for (int i = 0; i < e; i++)
                {
                    wantDw1[i * f + j] += x[r * e + i] * dhj;
                    wantDx[r * e + i] += dhj * w1[i * f + j];
                }
            }
        }

        AssertClose(h, hidden, "hidden");
        AssertClose(wantY, y, "y");
        AssertClose(wantDx, dx, "dx");
        AssertClose(wantDw1, dw1, "dW1");
        AssertClose(wantDb1, db1, "db1");
        AssertClose(wantDw2, dw2, "dW2");
        AssertClose(wantDb2, db2, "db2");
    }

    /// <summary>
    /// |got − want| ≤ 2e-5·(RMS of want + |want|): products of depth up to 2·SequenceLength rows (the weight gradients) or
    /// FfnDim, in float with one multiply-add chain per element.
    /// </summary>
    private static void AssertClose(double[] want, float[] got, string what)
    {
        double rms = Math.Sqrt(want.Sum(v => v * v) / want.Length);
        for (int i = 0; i < want.Length; i++)
        {
            Assert.True(Math.Abs(got[i] - want[i]) <= 2e-5 * (rms + Math.Abs(want[i])), $"{what}[{i}]: {got[i]:E6} against {want[i]:E6} (RMS {rms:E3})");
        }
    }
}
