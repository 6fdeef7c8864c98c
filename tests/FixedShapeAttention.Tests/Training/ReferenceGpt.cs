using System;
using System.Collections.Generic;
using System.Linq;

namespace FixedShapeAttention.Tests.Training;

/// <summary>The dimensions and options of a transformer language model under training.</summary>
internal sealed record GptConfig(
    int Vocabulary, int SequenceLength, int Dim, int Heads, int Ffn, int Layers,
    bool Causal = true, bool PreNorm = true, bool TiedEmbeddings = true, Activation Activation = Activation.GeluTanh, double Epsilon = 1e-5,
    int KeyValueHeads = 0, bool Rotary = false, double Theta = 10_000)
{
    public int HeadDim => Dim / Heads;

    public int KvHeads => KeyValueHeads == 0 ? Heads : KeyValueHeads;

    public int KvDim => KvHeads * HeadDim;
}

/// <summary>
/// A transformer language model in float64, forward and backward written out by hand from the definitions: the
/// reference the training kernels are held to. Per layer, pre-norm: <c>x += Attn(LN₁(x)); x += FFN(LN₂(x))</c> and a
/// final LayerNorm; post-norm (BERT): <c>x = LN₁(x + Attn(x)); x = LN₂(x + FFN(x))</c>. Token and learned position
/// embeddings; the head is the token embedding transposed (tied) or its own [Dim, Vocabulary] matrix. The loss is the
/// mean cross-entropy over every target that is not <see cref="FixedShapeAttention.Training.SoftmaxCrossEntropy.IgnoreIndex"/>.
/// Its gradients are checked against central differences (<see cref="ReferenceGptTests"/>).
/// </summary>
internal sealed class ReferenceGpt
{
    private readonly GptConfig _c;

    public ReferenceGpt(GptConfig config, int seed)
    {
        _c = config;
        var random = new Random(seed);
        double[] Init(int n, double scale) => Enumerable.Range(0, n).Select(_ => (random.NextDouble() * 2 - 1) * scale).ToArray();
        double[] Ones(int n, double jitter) => Enumerable.Range(0, n).Select(_ => 1 + (random.NextDouble() * 2 - 1) * jitter).ToArray();
        int d = config.Dim, f = config.Ffn, kv = config.KvDim;
        Add("embed.tokens", Init(config.Vocabulary * d, 0.5));
        if (!config.Rotary)
            Add("embed.positions", Init(config.SequenceLength * d, 0.1));
        for (int l = 0; l < config.Layers; l++)
        {
            string p = $"layers.{l}.";
            Add(p + "ln1.gamma", Ones(d, 0.1));
            Add(p + "ln1.beta", Init(d, 0.1));
            foreach (string w in new[] { "attn.wq", "attn.wk", "attn.wv", "attn.wo" })
            {
                int outputs = w is "attn.wk" or "attn.wv" ? kv : d;
                Add(p + w, Init(d * outputs, 1 / Math.Sqrt(d)));
                Add(p + w.Replace(".w", ".b", StringComparison.Ordinal), Init(outputs, 0.1));
            }

            Add(p + "ln2.gamma", Ones(d, 0.1));
            Add(p + "ln2.beta", Init(d, 0.1));
            Add(p + "ffn.w1", Init(d * f, 1 / Math.Sqrt(d)));
            Add(p + "ffn.b1", Init(f, 0.1));
            Add(p + "ffn.w2", Init(f * d, 1 / Math.Sqrt(f)));
            Add(p + "ffn.b2", Init(d, 0.1));
        }

        if (config.PreNorm)
        {
            Add("final_ln.gamma", Ones(d, 0.1));
            Add("final_ln.beta", Init(d, 0.1));
        }

        if (!config.TiedEmbeddings)
            Add("head.weight", Init(d * config.Vocabulary, 1 / Math.Sqrt(d)));
    }

    /// <summary>Every parameter, in a fixed order.</summary>
    public List<(string Name, double[] Value)> Parameters { get; } = [];

    public double[] this[string name] => Parameters.First(p => p.Name == name).Value;

    private void Add(string name, double[] value) => Parameters.Add((name, value));

    /// <summary>The mean loss over the batch's scored targets; tokens and targets are [batch, SequenceLength].</summary>
    public double Loss(int[] tokens, int[] targets) => Run(tokens, targets, gradients: null);

    /// <summary>The loss and the gradient of every parameter, in <see cref="Parameters"/>' order.</summary>
    public (double Loss, Dictionary<string, double[]> Gradients) LossAndGradients(int[] tokens, int[] targets)
    {
        var gradients = Parameters.ToDictionary(p => p.Name, p => new double[p.Value.Length]);
        return (Run(tokens, targets, gradients), gradients);
    }

    private sealed class LayerCache
    {
        public double[] Input = [], Norm1 = [], Mean1 = [], Rstd1 = [], Q = [], K = [], V = [], P = [], O = [], Residual1 = [];
        public double[] Norm2 = [], Mean2 = [], Rstd2 = [], H = [], G = [], Output = [];
    }

    private double Run(int[] tokens, int[] targets, Dictionary<string, double[]>? gradients)
    {
        int T = _c.SequenceLength, d = _c.Dim, V = _c.Vocabulary;
        int batch = tokens.Length / T;
        int scored = targets.Count(t => t != FixedShapeAttention.Training.SoftmaxCrossEntropy.IgnoreIndex);
        double totalLoss = 0;
        for (int b = 0; b < batch; b++)
        {
            // Forward, keeping what backward needs.
            var x = new double[T * d];
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < d; i++)
                    x[t * d + i] = this["embed.tokens"][tokens[b * T + t] * d + i] + (_c.Rotary ? 0 : this["embed.positions"][t * d + i]);
            }

            var caches = new LayerCache[_c.Layers];
            for (int l = 0; l < _c.Layers; l++)
                x = LayerForward(l, x, caches[l] = new LayerCache());

            double[] y = x, finalMean = [], finalRstd = [];
            if (_c.PreNorm)
                y = LayerNormForward(x, this["final_ln.gamma"], this["final_ln.beta"], out finalMean, out finalRstd);

            double[] head = _c.TiedEmbeddings ? Transpose(this["embed.tokens"], V, d) : this["head.weight"];
            double[] logits = MatMul(y, head, T, d, V);
            var dLogits = new double[T * V];
            for (int t = 0; t < T; t++)
            {
                int target = targets[b * T + t];
                if (target == FixedShapeAttention.Training.SoftmaxCrossEntropy.IgnoreIndex)
                    continue;
                double max = double.NegativeInfinity;
                for (int j = 0; j < V; j++)
                    max = Math.Max(max, logits[t * V + j]);
                double sum = 0;
                for (int j = 0; j < V; j++)
                    sum += Math.Exp(logits[t * V + j] - max);
                totalLoss += max + Math.Log(sum) - logits[t * V + target];
                for (int j = 0; j < V; j++)
                    dLogits[t * V + j] = (Math.Exp(logits[t * V + j] - max) / sum - (j == target ? 1 : 0)) / scored;
            }

            if (gradients is null)
                continue;

            // Backward.
            double[] dHead = MatMulTransposeA(y, dLogits, T, d, V);
            if (_c.TiedEmbeddings)
                Accumulate(gradients["embed.tokens"], Transpose(dHead, d, V));
            else
                Accumulate(gradients["head.weight"], dHead);
            double[] dx = MatMulTransposeB(dLogits, head, T, V, d);
            if (_c.PreNorm)
                dx = LayerNormBackward(x, finalMean, finalRstd, this["final_ln.gamma"], dx, gradients["final_ln.gamma"], gradients["final_ln.beta"]);
            for (int l = _c.Layers - 1; l >= 0; l--)
                dx = LayerBackward(l, caches[l], dx, gradients);
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < d; i++)
                {
                    gradients["embed.tokens"][tokens[b * T + t] * d + i] += dx[t * d + i];
                    if (!_c.Rotary)
                        gradients["embed.positions"][t * d + i] += dx[t * d + i];
                }
            }
        }

        return scored == 0 ? 0 : totalLoss / scored;
    }

    private double[] LayerForward(int l, double[] x, LayerCache c)
    {
        int T = _c.SequenceLength, d = _c.Dim, f = _c.Ffn;
        string p = $"layers.{l}.";
        c.Input = x;
        double[] attentionInput = x;
        if (_c.PreNorm)
            attentionInput = c.Norm1 = LayerNormForward(x, this[p + "ln1.gamma"], this[p + "ln1.beta"], out c.Mean1, out c.Rstd1);
        int kv = _c.KvDim;
        c.Q = Linear(attentionInput, this[p + "attn.wq"], this[p + "attn.bq"], T, d, d);
        c.K = Linear(attentionInput, this[p + "attn.wk"], this[p + "attn.bk"], T, d, kv);
        c.V = Linear(attentionInput, this[p + "attn.wv"], this[p + "attn.bv"], T, d, kv);
        if (_c.Rotary)
        {
            Rotate(c.Q, d, sign: 1);
            Rotate(c.K, kv, sign: 1);
        }
        c.O = AttentionForward(c.Q, c.K, c.V, out c.P);
        double[] a = Linear(c.O, this[p + "attn.wo"], this[p + "attn.bo"], T, d, d);
        double[] residual1 = Sum(x, a);
        double[] ffnInput;
        if (_c.PreNorm)
        {
            c.Residual1 = residual1;
            ffnInput = c.Norm2 = LayerNormForward(residual1, this[p + "ln2.gamma"], this[p + "ln2.beta"], out c.Mean2, out c.Rstd2);
        }
        else
        {
            c.Residual1 = residual1;
            ffnInput = c.Norm1 = LayerNormForward(residual1, this[p + "ln1.gamma"], this[p + "ln1.beta"], out c.Mean1, out c.Rstd1);
        }

        c.H = Linear(ffnInput, this[p + "ffn.w1"], this[p + "ffn.b1"], T, d, f);
        c.G = c.H.Select(h => Reference.Activate(_c.Activation, h)).ToArray();
        double[] m = Linear(c.G, this[p + "ffn.w2"], this[p + "ffn.b2"], T, f, d);
        if (_c.PreNorm)
            return c.Output = Sum(residual1, m);
        c.Norm2 = Sum(ffnInput, m);
        return c.Output = LayerNormForward(c.Norm2, this[p + "ln2.gamma"], this[p + "ln2.beta"], out c.Mean2, out c.Rstd2);
    }

    private double[] LayerBackward(int l, LayerCache c, double[] dOut, Dictionary<string, double[]> g)
    {
        int T = _c.SequenceLength, d = _c.Dim, f = _c.Ffn;
        string p = $"layers.{l}.";
        double[] dResidual1, dFfnInput, dm;
        if (_c.PreNorm)
        {
            dm = dOut;
            dResidual1 = (double[])dOut.Clone();
        }
        else
        {
            // Output = LN₂(ffnInput + m), ffnInput = LN₁(residual1).
            dm = LayerNormBackward(c.Norm2, c.Mean2, c.Rstd2, this[p + "ln2.gamma"], dOut, g[p + "ln2.gamma"], g[p + "ln2.beta"]);
            dResidual1 = null!;
        }

        double[] ffnInput = _c.PreNorm ? c.Norm2 : c.Norm1;
        double[] dG = LinearBackward(c.G, this[p + "ffn.w2"], dm, g[p + "ffn.w2"], g[p + "ffn.b2"], T, f, d);
        double[] dH = dG.Select((dg, i) => dg * ActivationDerivative(_c.Activation, c.H[i])).ToArray();
        dFfnInput = LinearBackward(ffnInput, this[p + "ffn.w1"], dH, g[p + "ffn.w1"], g[p + "ffn.b1"], T, d, f);
        if (_c.PreNorm)
        {
            Accumulate(dResidual1, LayerNormBackward(c.Residual1, c.Mean2, c.Rstd2, this[p + "ln2.gamma"], dFfnInput, g[p + "ln2.gamma"], g[p + "ln2.beta"]));
        }
        else
        {
            Accumulate(dFfnInput, dm);
            dResidual1 = LayerNormBackward(c.Residual1, c.Mean1, c.Rstd1, this[p + "ln1.gamma"], dFfnInput, g[p + "ln1.gamma"], g[p + "ln1.beta"]);
        }

        // residual1 = input + Wo·O + bo.
        double[] dInput = (double[])dResidual1.Clone();
        double[] dO = LinearBackward(c.O, this[p + "attn.wo"], dResidual1, g[p + "attn.wo"], g[p + "attn.bo"], T, d, d);
        AttentionBackward(c.Q, c.K, c.V, c.P, dO, out double[] dQ, out double[] dK, out double[] dV);
        int kv = _c.KvDim;
        if (_c.Rotary)
        {
            Rotate(dQ, d, sign: -1);
            Rotate(dK, kv, sign: -1);
        }

        double[] attentionInput = _c.PreNorm ? c.Norm1 : c.Input;
        double[] dAttentionInput = LinearBackward(attentionInput, this[p + "attn.wq"], dQ, g[p + "attn.wq"], g[p + "attn.bq"], T, d, d);
        Accumulate(dAttentionInput, LinearBackward(attentionInput, this[p + "attn.wk"], dK, g[p + "attn.wk"], g[p + "attn.bk"], T, d, kv));
        Accumulate(dAttentionInput, LinearBackward(attentionInput, this[p + "attn.wv"], dV, g[p + "attn.wv"], g[p + "attn.bv"], T, d, kv));
        if (_c.PreNorm)
            Accumulate(dInput, LayerNormBackward(c.Input, c.Mean1, c.Rstd1, this[p + "ln1.gamma"], dAttentionInput, g[p + "ln1.gamma"], g[p + "ln1.beta"]));
        else
            Accumulate(dInput, dAttentionInput);
        return dInput;
    }

    private double[] AttentionForward(double[] q, double[] k, double[] v, out double[] probabilities)
    {
        int T = _c.SequenceLength, d = _c.Dim, dh = _c.HeadDim, kv = _c.KvDim, group = _c.Heads / _c.KvHeads;
        double scale = 1 / Math.Sqrt(dh);
        var o = new double[T * d];
        probabilities = new double[_c.Heads * T * T];
        for (int h = 0; h < _c.Heads; h++)
        {
            for (int i = 0; i < T; i++)
            {
                int keys = _c.Causal ? i + 1 : T;
                var s = new double[keys];
                double max = double.NegativeInfinity;
                for (int j = 0; j < keys; j++)
                {
                    for (int e = 0; e < dh; e++)
                        s[j] += q[i * d + h * dh + e] * k[j * kv + h / group * dh + e];
                    s[j] *= scale;
                    max = Math.Max(max, s[j]);
                }

                double sum = s.Sum(x => Math.Exp(x - max));
                for (int j = 0; j < keys; j++)
                {
                    double pij = Math.Exp(s[j] - max) / sum;
                    probabilities[(h * T + i) * T + j] = pij;
                    for (int e = 0; e < dh; e++)
                        o[i * d + h * dh + e] += pij * v[j * kv + h / group * dh + e];
                }
            }
        }

        return o;
    }

    private void AttentionBackward(double[] q, double[] k, double[] v, double[] probabilities, double[] dO, out double[] dQ, out double[] dK, out double[] dV)
    {
        int T = _c.SequenceLength, d = _c.Dim, dh = _c.HeadDim, kv = _c.KvDim, group = _c.Heads / _c.KvHeads;
        double scale = 1 / Math.Sqrt(dh);
        dQ = new double[T * d];
        dK = new double[T * kv];
        dV = new double[T * kv];
        for (int h = 0; h < _c.Heads; h++)
        {
            for (int i = 0; i < T; i++)
            {
                var dP = new double[T];
                double rowDot = 0;
                for (int j = 0; j < T; j++)
                {
                    double pij = probabilities[(h * T + i) * T + j];
                    for (int e = 0; e < dh; e++)
                    {
                        dV[j * kv + h / group * dh + e] += pij * dO[i * d + h * dh + e];
                        dP[j] += dO[i * d + h * dh + e] * v[j * kv + h / group * dh + e];
                    }

                    rowDot += pij * dP[j];
                }

                for (int j = 0; j < T; j++)
                {
                    double dS = probabilities[(h * T + i) * T + j] * (dP[j] - rowDot) * scale;
                    for (int e = 0; e < dh; e++)
                    {
                        dQ[i * d + h * dh + e] += dS * k[j * kv + h / group * dh + e];
                        dK[j * kv + h / group * dh + e] += dS * q[i * d + h * dh + e];
                    }
                }
            }
        }
    }

    /// <summary>RoPE in place on rows of <paramref name="width"/> (whole heads), row t at position t; sign −1 turns back.
    /// Pairs (i, i + HeadDim/2), angle t·θ^(−2i/HeadDim).</summary>
    private void Rotate(double[] x, int width, int sign)
    {
        int dh = _c.HeadDim, half = dh / 2;
        for (int t = 0; t < _c.SequenceLength; t++)
        {
            for (int head = 0; head < width; head += dh)
            {
                for (int i = 0; i < half; i++)
                {
                    double angle = sign * t * Math.Pow(_c.Theta, -2.0 * i / dh);
                    int ia = t * width + head + i, ib = ia + half;
                    double a = x[ia], b = x[ib];
                    x[ia] = a * Math.Cos(angle) - b * Math.Sin(angle);
                    x[ib] = a * Math.Sin(angle) + b * Math.Cos(angle);
                }
            }
        }
    }

    private double[] LayerNormForward(double[] x, double[] gamma, double[] beta, out double[] mean, out double[] rstd)
    {
        int n = _c.Dim, rows = x.Length / n;
        var y = new double[x.Length];
        mean = new double[rows];
        rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0, variance = 0;
            for (int i = 0; i < n; i++)
                mu += x[r * n + i];
            mu /= n;
            for (int i = 0; i < n; i++)
                variance += (x[r * n + i] - mu) * (x[r * n + i] - mu);
            double s = 1 / Math.Sqrt(variance / n + _c.Epsilon);
            mean[r] = mu;
            rstd[r] = s;
            for (int i = 0; i < n; i++)
                y[r * n + i] = (x[r * n + i] - mu) * s * gamma[i] + beta[i];
        }

        return y;
    }

    private double[] LayerNormBackward(double[] x, double[] mean, double[] rstd, double[] gamma, double[] dy, double[] dGamma, double[] dBeta)
    {
        int n = _c.Dim, rows = x.Length / n;
        var dx = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double meanDxhat = 0, meanDxhatXhat = 0;
            for (int i = 0; i < n; i++)
            {
                double xhat = (x[r * n + i] - mean[r]) * rstd[r];
                double dxhat = dy[r * n + i] * gamma[i];
                dGamma[i] += dy[r * n + i] * xhat;
                dBeta[i] += dy[r * n + i];
                meanDxhat += dxhat / n;
                meanDxhatXhat += dxhat * xhat / n;
            }

            for (int i = 0; i < n; i++)
            {
                double xhat = (x[r * n + i] - mean[r]) * rstd[r];
                dx[r * n + i] = rstd[r] * (dy[r * n + i] * gamma[i] - meanDxhat - xhat * meanDxhatXhat);
            }
        }

        return dx;
    }

    public static double ActivationDerivative(Activation activation, double x)
    {
        var (first, second) = ActivationDerivativeTerms(activation, x);
        return first + second;
    }

    /// <summary>The derivative's two terms, the cdf-like one and x times the density-like one, whose sum it is.</summary>
    public static (double First, double Second) ActivationDerivativeTerms(Activation activation, double x)
    {
        switch (activation)
        {
            case Activation.Relu:
                return (x > 0 ? 1 : 0, 0);
            case Activation.Gelu:
                return (0.5 * Reference.Erfc(-x / Math.Sqrt(2)), x * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI));
            case Activation.GeluTanh:
            {
                // ½(1 + tanh u) = σ(2u) and ½(1 − tanh² u) = 2σ(2u)σ(−2u), each logistic taken directly: 1 + tanh u
                // and 1 − tanh² u cancel in double too once u is below about −17 (x below about −7).
                const double C = 0.044715;
                double k = Math.Sqrt(2 / Math.PI), u = k * (x + C * x * x * x);
                double up = 1 / (1 + Math.Exp(-2 * u)), down = 1 / (1 + Math.Exp(2 * u));
                return (up, 2 * x * up * down * k * (1 + 3 * C * x * x));
            }

            case Activation.Silu:
            {
                double s = 1 / (1 + Math.Exp(-x)), complement = 1 / (1 + Math.Exp(x));
                return (s, s * x * complement);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    private static double[] Linear(double[] x, double[] w, double[] bias, int rows, int inputs, int outputs)
    {
        double[] y = MatMul(x, w, rows, inputs, outputs);
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < outputs; j++)
                y[r * outputs + j] += bias[j];
        }

        return y;
    }

    /// <summary>Adds dW = xᵀ·dy and db = Σ dy to the gradients and returns dx = dy·Wᵀ.</summary>
    private static double[] LinearBackward(double[] x, double[] w, double[] dy, double[] dW, double[] dBias, int rows, int inputs, int outputs)
    {
        Accumulate(dW, MatMulTransposeA(x, dy, rows, inputs, outputs));
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < outputs; j++)
                dBias[j] += dy[r * outputs + j];
        }

        return MatMulTransposeB(dy, w, rows, outputs, inputs);
    }

    /// <summary>[n, k]·[k, m].</summary>
    private static double[] MatMul(double[] a, double[] b, int n, int k, int m)
    {
        var c = new double[n * m];
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < k; p++)
            {
                double aip = a[i * k + p];
                for (int j = 0; j < m; j++)
                    c[i * m + j] += aip * b[p * m + j];
            }
        }

        return c;
    }

    /// <summary>[n, k]ᵀ·[n, m] = [k, m].</summary>
    private static double[] MatMulTransposeA(double[] a, double[] b, int n, int k, int m) => MatMul(Transpose(a, n, k), b, k, n, m);

    /// <summary>[n, m]·[k, m]ᵀ = [n, k].</summary>
    private static double[] MatMulTransposeB(double[] a, double[] b, int n, int m, int k) => MatMul(a, Transpose(b, k, m), n, m, k);

    private static double[] Transpose(double[] a, int rows, int columns)
    {
        var t = new double[a.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
                t[c * rows + r] = a[r * columns + c];
        }

        return t;
    }

    private static double[] Sum(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static void Accumulate(double[] target, double[] add)
    {
        for (int i = 0; i < target.Length; i++)
            target[i] += add[i];
    }
}
