using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// Every shape, through the generated and the generic kernels, against the float64 reference. The same cases run
/// in every ISA pass of .ci/run (Vector512, Vector256, Vector128-only and scalar).
/// </summary>
public class KernelAgreementTests
{
    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string shape in Engines.ShapeNames)
        {
            foreach (string engine in new[] { "Generated", "Generic" })
            {
                data.Add(shape, engine, 1);
                if (Engines.IsSmall(shape) || shape == nameof(MiniLm))
                {
                    data.Add(shape, engine, 3);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attention_agrees_with_the_float64_reference(string shapeName, string engineName, int batch)
    {
        Engine engine = Engines.Get(shapeName, engineName);
        TransformerShape shape = engine.Shape;
        var inputs = TestData.Attention(shape, batch, seed: shapeName.Length * 31 + batch);
        var output = new float[inputs.Q.Length];
        engine.Attention(inputs.Q, inputs.K, inputs.V, output, -1);

        for (int sequence = 0; sequence < batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                double[] expected = Reference.AttentionRow(shape, inputs.Q, inputs.K, inputs.V, sequence, row);
                AssertRow(expected, output, (sequence * shape.SequenceLength + row) * shape.EmbeddingDim, Tolerances.AttentionAbsolute, Tolerances.AttentionRelative, $"{engine} attention, sequence {sequence}, row {row}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FeedForward_agrees_with_the_float64_reference(string shapeName, string engineName, int batch)
    {
        Engine engine = Engines.Get(shapeName, engineName);
        TransformerShape shape = engine.Shape;
        var inputs = TestData.FeedForward(shape, batch, seed: shapeName.Length * 17 + batch);
        var y = new float[inputs.X.Length];
        engine.FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, y, -1);

        for (int sequence = 0; sequence < batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                int globalRow = sequence * shape.SequenceLength + row;
                double[] expected = Reference.FeedForwardRow(shape, inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, globalRow);
                AssertRow(expected, y, globalRow * shape.EmbeddingDim, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative, $"{engine} feed-forward, sequence {sequence}, row {row}");
            }
        }
    }

    [Theory]
    [InlineData(nameof(Odd))]
    [InlineData(nameof(CausalGelu))]
    [InlineData(nameof(GeluTanhShape))]
    [InlineData(nameof(CausalSilu))]
    public void Every_activation_matches_the_reference_over_a_wide_input_range(string shapeName)
    {
        // Pre-activations across [-12, 12]: the Gelu/GeluTanh/Silu tails and the erfc fit's whole range.
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var x = new float[shape.SequenceElements];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = -12f + 24f * i / (x.Length - 1);
        }

        // W1 = [I | 0]: hidden j = x_j + b1_j for j < EmbeddingDim; W2 = Iᵀ: y = hidden's first columns.
        int e = shape.EmbeddingDim, f = shape.FfnDim, n = Math.Min(e, f);
        var w1 = new float[e * f];
        var w2 = new float[f * e];
        for (int i = 0; i < n; i++)
        {
            w1[i * f + i] = 1;
            w2[i * e + i] = 1;
        }

        var b1 = new float[f];
        var b2 = new float[e];
        foreach (string engineName in new[] { "Generated", "Generic" })
        {
            var y = new float[x.Length];
            Engines.Get(shapeName, engineName).FeedForward(x, w1, b1, w2, b2, y, -1);
            for (int row = 0; row < shape.SequenceLength; row++)
            {
                for (int c = 0; c < n; c++)
                {
                    double input = x[row * e + c];
                    double expected = Reference.Activate(shape.Activation, input);
                    double actual = y[row * e + c];
                    Assert.True(Math.Abs(actual - expected) <= ActivationTolerance(shape.Activation, input, expected),
                        $"{shapeName}/{engineName} {shape.Activation}({input}) = {actual}, expected {expected}");
                }
            }
        }
    }

    /// <summary>
    /// A few float ulps (1e-6 relative, which covers the 1.2e-7 erfc fit), plus what rounding exp's argument to
    /// float costs: each rounding of size |arg|·2⁻²⁴ becomes that relative error after exp, and the argument takes
    /// up to four of them to form (arg = x²/2 for Gelu: one fused multiply-add; 1.6·|x + 0.044715·x³| for GeluTanh:
    /// the cube, two products and a sum; |x| for Silu: exact), plus the smallest normal float for results that underflow.
    /// </summary>
    private static double ActivationTolerance(Activation activation, double x, double expected)
    {
        double argument = activation switch
        {
            Activation.Gelu => x * x / 2,
            Activation.GeluTanh => 1.6 * Math.Abs(x + 0.044715 * x * x * x),
            Activation.Silu => Math.Abs(x),
            _ => 0,
        };
        return (1e-6 + 4 * argument * Math.Pow(2, -24)) * Math.Abs(expected) + 1.2e-38;
    }

    internal static void AssertRow(double[] expected, float[] actual, int offset, double absolute, double relative, string what)
    {
        for (int c = 0; c < expected.Length; c++)
        {
            double got = actual[offset + c];
            double error = Math.Abs(got - expected[c]);
            if (!(error <= absolute + relative * Math.Abs(expected[c])))
            {
                Assert.Fail($"{what}, column {c}: got {got:R}, expected {expected[c]:R} (error {error:E2}, tolerance {absolute + relative * Math.Abs(expected[c]):E2}).");
            }
        }
    }
}
