using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Decoding;

/// <summary>
/// Autoregressive decoding of a causal <see cref="TransformerLanguageModel"/> with a key/value cache: each layer keeps
/// the keys and values of the tokens seen so far, so a new token costs one row through the layers and one attention row
/// over the cache, not a recompute of the prefix. Several sequences share the decoder, each at its own position.
/// </summary>
/// <remarks>
/// <see cref="Prefill"/> appends a prompt and <see cref="DecodeStep"/> one token per listed sequence; both run the same
/// per-row arithmetic. Every argument is checked before anything is written: a position past the context
/// (<see cref="LanguageModelConfig.SequenceLength"/>), an unknown or repeated sequence, a token outside the vocabulary
/// or a logits buffer of the wrong length throws and leaves the cache as it was. Once constructed, nothing allocates.
/// </remarks>
public sealed class LanguageModelDecoder
{
    private readonly TransformerLanguageModel _model;
    private readonly LanguageModelConfig _c;
    private readonly int _maxRows;
    private readonly float[][] _keys, _values;
    private readonly int[] _positions;
    private readonly float[] _x, _norm, _q, _k, _v, _o, _hidden, _scores, _last, _mean, _rstd;
    private readonly int[] _rowSequence, _rowPosition;
    private readonly float[] _generationLogits;

    /// <summary>A decoder for up to <paramref name="maxSequences"/> sequences of the model's context.</summary>
    /// <exception cref="ArgumentException">The model is not causal: a bidirectional model cannot decode.</exception>
    public LanguageModelDecoder(TransformerLanguageModel model, int maxSequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSequences);
        if (!model.Config.Causal)
            throw new ArgumentException("model: decoding needs a causal model (Causal = true).", nameof(model));
        _model = model;
        _c = model.Config;
        int t = _c.SequenceLength, d = _c.Dim;
        if ((long)maxSequences * t * d > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxSequences), maxSequences, "the cache of that many sequences exceeds an array.");
        MaxSequences = maxSequences;
        _maxRows = Math.Max(t, maxSequences);
        _keys = new float[_c.Layers][];
        _values = new float[_c.Layers][];
        for (int l = 0; l < _c.Layers; l++)
        {
            _keys[l] = new float[maxSequences * t * _c.KeyValueDim];
            _values[l] = new float[maxSequences * t * _c.KeyValueDim];
        }

        _positions = new int[maxSequences];
        _x = new float[_maxRows * d];
        _norm = new float[_maxRows * d];
        _q = new float[_maxRows * d];
        _k = new float[_maxRows * _c.KeyValueDim];
        _v = new float[_maxRows * _c.KeyValueDim];
        _o = new float[_maxRows * d];
        _hidden = new float[_maxRows * _c.Ffn];
        _scores = new float[t];
        _last = new float[maxSequences * d];
        _mean = new float[_maxRows];
        _rstd = new float[_maxRows];
        _rowSequence = new int[_maxRows];
        _rowPosition = new int[_maxRows];
        _generationLogits = new float[_c.Vocabulary];
    }

    /// <summary>How many sequences the cache holds.</summary>
    public int MaxSequences { get; }

    /// <summary>The bytes the key/value cache occupies: 2 · Layers · MaxSequences · SequenceLength · KeyValueDim floats
    /// (KeyValueDim = Dim / the query heads per key/value head).</summary>
    public long CacheBytes => 2L * _c.Layers * MaxSequences * _c.SequenceLength * _c.KeyValueDim * sizeof(float);

    /// <summary>How many tokens <paramref name="sequence"/> holds: the position its next token takes.</summary>
    public int Position(int sequence)
    {
        CheckSequence(sequence);
        return _positions[sequence];
    }

    /// <summary>Empties <paramref name="sequence"/>'s cache, to start a new text in it.</summary>
    public void Reset(int sequence)
    {
        CheckSequence(sequence);
        _positions[sequence] = 0;
    }

    /// <summary>Appends <paramref name="prompt"/> to <paramref name="sequence"/> and writes the logits that follow its
    /// last token.</summary>
    /// <exception cref="ArgumentException">The prompt is empty or would pass the context, or logits is not Vocabulary long.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The sequence or a token is out of range.</exception>
    public void Prefill(int sequence, ReadOnlySpan<int> prompt, Span<float> logits)
    {
        CheckSequence(sequence);
        if (prompt.IsEmpty)
            throw new ArgumentException("prompt: expected at least one token.", nameof(prompt));
        if (_positions[sequence] + prompt.Length > _c.SequenceLength)
            throw new ArgumentException(
                $"prompt: {prompt.Length} tokens after position {_positions[sequence]} pass the context of {_c.SequenceLength} (SequenceLength).", nameof(prompt));
        CheckTokens(prompt, nameof(prompt));
        CheckLogits(logits, 1);

        for (int r = 0; r < prompt.Length; r++)
        {
            _rowSequence[r] = sequence;
            _rowPosition[r] = _positions[sequence] + r;
        }

        Advance(prompt, prompt.Length);
        _positions[sequence] += prompt.Length;
        Logits(_x.AsSpan((prompt.Length - 1) * _c.Dim, _c.Dim), 1, logits);
    }

    /// <summary>Appends <paramref name="tokens"/>[i] to <paramref name="sequences"/>[i], each at its own position, and
    /// writes the logits that follow each: [sequences.Length, Vocabulary].</summary>
    /// <exception cref="ArgumentException">The lengths differ, a sequence repeats or is full, or logits is not
    /// sequences × Vocabulary long.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A sequence or token is out of range.</exception>
    public void DecodeStep(ReadOnlySpan<int> sequences, ReadOnlySpan<int> tokens, Span<float> logits)
    {
        if (sequences.IsEmpty || tokens.Length != sequences.Length)
            throw new ArgumentException($"tokens: expected one per sequence ({sequences.Length}, at least 1), got {tokens.Length}.", nameof(tokens));
        for (int i = 0; i < sequences.Length; i++)
        {
            CheckSequence(sequences[i]);
            for (int j = 0; j < i; j++)
            {
                if (sequences[j] == sequences[i])
                    throw new ArgumentException($"sequences: {sequences[i]} is listed twice; a step appends one token per sequence.", nameof(sequences));
            }

            if (_positions[sequences[i]] >= _c.SequenceLength)
                throw new ArgumentException($"sequences: sequence {sequences[i]} is full (position {_c.SequenceLength}, the context).", nameof(sequences));
        }

        CheckTokens(tokens, nameof(tokens));
        CheckLogits(logits, sequences.Length);

        for (int r = 0; r < sequences.Length; r++)
        {
            _rowSequence[r] = sequences[r];
            _rowPosition[r] = _positions[sequences[r]];
        }

        Advance(tokens, sequences.Length);
        foreach (int s in sequences)
            _positions[s]++;
        Logits(_x.AsSpan(0, sequences.Length * _c.Dim), sequences.Length, logits);
    }

    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> tokens after <paramref name="prompt"/> in sequence 0 (emptied
    /// first), yielding each as soon as it is chosen. Stops early at <paramref name="stopToken"/> (not yielded) or when
    /// the context is full. The same prompt, options and seed give the same tokens.
    /// </summary>
    /// <param name="stopToken">A token that ends the text, or -1 for none.</param>
    /// <exception cref="ArgumentException">The prompt is empty, longer than the context, or holds a token outside the
    /// vocabulary (thrown when enumeration starts).</exception>
    public IEnumerable<int> Generate(ReadOnlyMemory<int> prompt, int maxNewTokens, SamplingOptions sampling, ulong seed, int stopToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        var sampler = new TokenSampler(sampling, seed);
        return Tokens(prompt, maxNewTokens, sampler, stopToken);
    }

    /// <summary>As <see cref="Generate"/>, as an asynchronous stream that yields to the caller's context between tokens
    /// and honours <paramref name="cancellationToken"/> before each.</summary>
    public async IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, int maxNewTokens, SamplingOptions sampling, ulong seed, int stopToken,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (int token in Generate(prompt, maxNewTokens, sampling, seed, stopToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return token;
            await System.Threading.Tasks.Task.Yield();
        }
    }

    private IEnumerable<int> Tokens(ReadOnlyMemory<int> prompt, int maxNewTokens, TokenSampler sampler, int stopToken)
    {
        Reset(0);
        Prefill(0, prompt.Span, _generationLogits);
        int[] next = new int[1], sequence = [0];
        for (int produced = 0; produced < maxNewTokens; produced++)
        {
            next[0] = sampler.Sample(_generationLogits);
            if (next[0] == stopToken)
                yield break;
            yield return next[0];
            if (_positions[0] >= _c.SequenceLength || produced + 1 == maxNewTokens)
                yield break;
            DecodeStep(sequence, next, _generationLogits);
        }
    }

    /// <summary>Runs <paramref name="rows"/> new tokens through every layer, writing their keys and values into the
    /// cache at (_rowSequence[r], _rowPosition[r]); leaves the last layer's output rows in _x.</summary>
    private void Advance(ReadOnlySpan<int> tokens, int rows)
    {
        int d = _c.Dim, t = _c.SequenceLength, f = _c.Ffn;
        Span<float> x = _x.AsSpan(0, rows * d);
        for (int r = 0; r < rows; r++)
        {
            _model.TokenEmbedding.Value.AsSpan(tokens[r] * d, d).CopyTo(x.Slice(r * d, d));
            if (_model.PositionEmbedding is TrainableTensor positions)
                TrainingKernels.Add(x.Slice(r * d, d), positions.Value.AsSpan(_rowPosition[r] * d, d));
        }

        int kv = _c.KeyValueDim;
        Span<float> norm = _norm.AsSpan(0, rows * d), q = _q.AsSpan(0, rows * d), k = _k.AsSpan(0, rows * kv), v = _v.AsSpan(0, rows * kv);
        Span<float> o = _o.AsSpan(0, rows * d), hidden = _hidden.AsSpan(0, rows * f);
        Span<float> mean = _mean.AsSpan(0, rows), rstd = _rstd.AsSpan(0, rows);
        for (int l = 0; l < _c.Layers; l++)
        {
            TransformerLanguageModel.Layer p = _model.LayerParameters[l];
            Span<float> attentionInput = x;
            if (_c.PreNorm)
            {
                TrainingKernels.LayerNormForward(x, p.Ln1Gamma.Value, p.Ln1Beta.Value, _c.LayerNormEpsilon, norm, mean, rstd);
                attentionInput = norm;
            }

            Linear(attentionInput, p.Wq, p.Bq, q, rows, d, d);
            Linear(attentionInput, p.Wk, p.Bk, k, rows, d, kv);
            Linear(attentionInput, p.Wv, p.Bv, v, rows, d, kv);
            if (_model.Rotary is RotaryEmbedding rotary)
            {
                // Keys enter the cache already turned by their position, as queries are turned by theirs.
                rotary.Apply(q, _rowPosition.AsSpan(0, rows));
                rotary.Apply(k, _rowPosition.AsSpan(0, rows));
            }

            for (int r = 0; r < rows; r++)
            {
                int slot = (_rowSequence[r] * t + _rowPosition[r]) * kv;
                k.Slice(r * kv, kv).CopyTo(_keys[l].AsSpan(slot, kv));
                v.Slice(r * kv, kv).CopyTo(_values[l].AsSpan(slot, kv));
            }

            for (int r = 0; r < rows; r++)
                AttendRow(l, q.Slice(r * d, d), _rowSequence[r], _rowPosition[r], o.Slice(r * d, d));

            // x ← x + O·Wo + bo (pre-norm), or LN₁(x + O·Wo + bo) (post-norm); then the FFN the same way.
            Linear(o, p.Wo, p.Bo, norm, rows, d, d);
            Add(x, norm);
            Span<float> ffnInput = x;
            if (_c.PreNorm)
            {
                TrainingKernels.LayerNormForward(x, p.Ln2Gamma.Value, p.Ln2Beta.Value, _c.LayerNormEpsilon, norm, mean, rstd);
                ffnInput = norm;
            }
            else
            {
                TrainingKernels.LayerNormForward(x, p.Ln1Gamma.Value, p.Ln1Beta.Value, _c.LayerNormEpsilon, x, mean, rstd);
            }

            Linear(ffnInput, p.W1, p.B1, hidden, rows, d, f);
            TrainingKernels.Activate(_c.Activation, hidden, hidden);
            Linear(hidden, p.W2, p.B2, o, rows, f, d);
            Add(x, o);
            if (!_c.PreNorm)
                TrainingKernels.LayerNormForward(x, p.Ln2Gamma.Value, p.Ln2Beta.Value, _c.LayerNormEpsilon, x, mean, rstd);
        }
    }

    /// <summary>One query row against the cached keys 0..position of its sequence, per head.</summary>
    private void AttendRow(int layer, ReadOnlySpan<float> q, int sequence, int position, Span<float> o)
    {
        int kv = _c.KeyValueDim, dh = _c.HeadDim, t = _c.SequenceLength, group = _c.Heads / _c.KeyValueHeadCount;
        float scale = 1f / MathF.Sqrt(dh);
        ReadOnlySpan<float> keys = _keys[layer].AsSpan(sequence * t * kv, (position + 1) * kv);
        ReadOnlySpan<float> values = _values[layer].AsSpan(sequence * t * kv, (position + 1) * kv);
        Span<float> scores = _scores.AsSpan(0, position + 1);
        for (int h = 0; h < _c.Heads; h++)
        {
            ReadOnlySpan<float> qh = q.Slice(h * dh, dh);
            float max = float.NegativeInfinity;
            for (int j = 0; j <= position; j++)
            {
                float s = Dot(qh, keys.Slice(j * kv + h / group * dh, dh)) * scale;
                scores[j] = s;
                max = MathF.Max(max, s);
            }

            double sum = 0;
            for (int j = 0; j <= position; j++)
            {
                scores[j] = MathF.Exp(scores[j] - max);
                sum += scores[j];
            }

            Span<float> oh = o.Slice(h * dh, dh);
            oh.Clear();
            for (int j = 0; j <= position; j++)
            {
                ReadOnlySpan<float> vj = values.Slice(j * kv + h / group * dh, dh);
                float w = scores[j];
                for (int e = 0; e < dh; e++)
                    oh[e] = MathF.FusedMultiplyAdd(w, vj[e], oh[e]);
            }

            float inverse = (float)(1 / sum);
            for (int e = 0; e < dh; e++)
                oh[e] *= inverse;
        }
    }

    private void Logits(ReadOnlySpan<float> rows, int count, Span<float> logits)
    {
        int d = _c.Dim, v = _c.Vocabulary;
        Span<float> last = _last.AsSpan(0, count * d);
        if (_c.PreNorm)
            TrainingKernels.LayerNormForward(rows, _model.FinalGamma!.Value, _model.FinalBeta!.Value, _c.LayerNormEpsilon, last, _mean.AsSpan(0, count), _rstd.AsSpan(0, count));
        else
            rows.CopyTo(last);
        if (_model.Head is null)
            PanelGemm.Multiply(last, d, false, _model.TokenEmbedding.Value, d, true, logits, v, count, v, d, false, KernelParallelism.DefaultMaxDegreeOfParallelism);
        else
            PanelGemm.Multiply(last, d, false, _model.Head.Value, v, false, logits, v, count, v, d, false, KernelParallelism.DefaultMaxDegreeOfParallelism);
    }

    private static void Linear(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, Span<float> y, int rows, int inputs, int outputs) =>
        TransformerLanguageModel.Linear(x, weight, bias, y, rows, inputs, outputs, KernelParallelism.DefaultMaxDegreeOfParallelism);

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    private static void Add(Span<float> target, ReadOnlySpan<float> addend) => TrainingKernels.Add(target, addend);

    private void CheckSequence(int sequence)
    {
        if ((uint)sequence >= (uint)MaxSequences)
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"sequence: expected an index in [0, {MaxSequences}).");
    }

    private void CheckTokens(ReadOnlySpan<int> tokens, string name)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)_c.Vocabulary)
                throw new ArgumentOutOfRangeException(name, tokens[i], $"{name}[{i}]: expected a token in [0, {_c.Vocabulary}).");
        }
    }

    private void CheckLogits(Span<float> logits, int rows)
    {
        if (logits.Length != rows * _c.Vocabulary)
            throw new ArgumentException($"logits: expected {rows * _c.Vocabulary} = {rows}×{_c.Vocabulary} (rows × Vocabulary), got {logits.Length}.", nameof(logits));
    }
}
