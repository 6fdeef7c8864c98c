using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using FixedShapeAttention.Encoder;
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
    private readonly float[] _x, _norm, _q, _k, _v, _o, _hidden, _scores, _last;
    private readonly int[] _rowSequence, _rowPosition, _keysRead;
    private long _attendedKeys;
    private readonly float[] _generationLogits;
    private GeneratedDecoding? _generated;

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
        _scores = new float[_maxRows * _c.Heads * CachedAttention.ScoreStride(t)];
        _keysRead = new int[_maxRows * _c.Heads];
        _last = new float[maxSequences * d];
        _rowSequence = new int[_maxRows];
        _rowPosition = new int[_maxRows];
        _generationLogits = new float[_c.Vocabulary];
    }

    /// <summary>How many sequences the cache holds.</summary>
    public int MaxSequences { get; }

    /// <summary>The bytes the key/value cache occupies: 2 · Layers · MaxSequences · SequenceLength · KeyValueDim floats
    /// (KeyValueDim = Dim / the query heads per key/value head).</summary>
    public long CacheBytes => _generated is { } generated ? generated.Cache.Bytes : 2L * _c.Layers * MaxSequences * _c.SequenceLength * _c.KeyValueDim * sizeof(float);

    /// <summary>
    /// The cached keys every attention row has read so far, summed over layers, heads and rows: the work of attention,
    /// which a step at position p makes Layers · Heads · (p + 1) for each of its rows. Tests read it to check that a
    /// step's work grows with its position only, without timing anything.
    /// </summary>
    internal long AttendedKeys => _attendedKeys;

    /// <summary>
    /// Runs attention (the key/value cache, prefill and decode steps) on the kernels the source generator emitted for
    /// <typeparamref name="TKernels"/>'s declared causal shape instead of the runtime-shape ones, with a cache in that shape's
    /// layout (<see cref="IDecodingKernels.CreateKeyValueCache"/>). Every sequence starts empty again. Projections,
    /// LayerNorm, RoPE, the feed-forward network and the logits stay on the runtime-shape kernels.
    /// </summary>
    /// <remarks>The generated attention of a row gives the same bits as the shape's causal <c>Attention</c> over the whole
    /// prefix; against the runtime-shape cached attention it differs by float rounding (another exp and sum order).
    /// <see cref="AttendedKeys"/> counts the runtime-shape kernels' work only.</remarks>
    /// <returns>This decoder.</returns>
    /// <exception cref="ArgumentException">The declared shape's SequenceLength, EmbeddingDim, Heads or KeyValueHeads differs from the
    /// model's, or it is not causal.</exception>
    public LanguageModelDecoder UseKernels<TKernels>()
        where TKernels : IDecodingKernels
    {
        TransformerShape shape = TKernels.Shape;
        if (shape.SequenceLength != _c.SequenceLength || shape.EmbeddingDim != _c.Dim || shape.Heads != _c.Heads || !shape.Causal
            || TKernels.KeyValueHeads != _c.KeyValueHeadCount)
        {
            throw new ArgumentException(
                $"TKernels: {typeof(TKernels).Name} declares SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, Heads {shape.Heads}, " +
                $"KeyValueHeads {TKernels.KeyValueHeads}, Causal {shape.Causal}; the model has SequenceLength {_c.SequenceLength}, Dim {_c.Dim}, Heads {_c.Heads}, " +
                $"KeyValueHeads {_c.KeyValueHeadCount}, Causal {_c.Causal}.",
                nameof(TKernels));
        }

        _generated = new GeneratedDecoding<TKernels>(TKernels.CreateKeyValueCache(_c.Layers, MaxSequences));
        Array.Clear(_positions);
        // The runtime-shape cache is not read any more.
        for (int l = 0; l < _c.Layers; l++)
        {
            _keys[l] = [];
            _values[l] = [];
        }

        return this;
    }

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
        _generated?.Cache.Reset(sequence);
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

        Advance(prompt, prompt.Length, prefill: true);
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

        Advance(tokens, sequences.Length, prefill: false);
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
    /// cache at (_rowSequence[r], _rowPosition[r]) (a prefill: rows of one sequence at consecutive positions); leaves the last
    /// layer's output rows in _x.</summary>
    private void Advance(ReadOnlySpan<int> tokens, int rows, bool prefill)
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
        for (int l = 0; l < _c.Layers; l++)
        {
            TransformerLanguageModel.Layer p = _model.LayerParameters[l];
            Span<float> attentionInput = x;
            if (_c.PreNorm)
            {
                Normalize(x, p.Ln1Gamma, p.Ln1Beta, norm);
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

            int dop = KernelParallelism.DefaultMaxDegreeOfParallelism;
            if (_generated is { } generated)
            {
                if (prefill)
                    generated.Prefill(l, _rowSequence[0], _rowPosition[0], q, k, v, o, dop);
                else
                    generated.DecodeStep(l, _rowSequence.AsSpan(0, rows), _rowPosition.AsSpan(0, rows), q, k, v, o, dop);
            }
            else
            {
                for (int r = 0; r < rows; r++)
                    CachedAttention.Append(k.Slice(r * kv, kv), v.Slice(r * kv, kv), _keys[l], _values[l], _c.KeyValueHeadCount, _c.HeadDim, t, _rowSequence[r], _rowPosition[r]);

                CachedAttention.Run(_c.Heads, _c.KeyValueHeadCount, _c.HeadDim, t, _q, _keys[l], _values[l], _o, _scores, _keysRead,
                    _rowSequence, _rowPosition, rows, dop);
                for (int chunk = 0; chunk < rows * _c.Heads; chunk++)
                    _attendedKeys += _keysRead[chunk];
            }

            // x ← x + O·Wo + bo (pre-norm), or LN₁(x + O·Wo + bo) (post-norm); then the FFN the same way.
            Linear(o, p.Wo, p.Bo, norm, rows, d, d);
            Add(x, norm);
            Span<float> ffnInput = x;
            if (_c.PreNorm)
            {
                Normalize(x, p.Ln2Gamma, p.Ln2Beta, norm);
                ffnInput = norm;
            }
            else
            {
                Normalize(x, p.Ln1Gamma, p.Ln1Beta, x);
            }

            Linear(ffnInput, p.W1, p.B1, hidden, rows, d, f);
            TrainingKernels.Activate(_c.Activation, hidden, hidden);
            Linear(hidden, p.W2, p.B2, o, rows, f, d);
            Add(x, o);
            if (!_c.PreNorm)
                Normalize(x, p.Ln2Gamma, p.Ln2Beta, x);
        }
    }

    private void Logits(ReadOnlySpan<float> rows, int count, Span<float> logits)
    {
        int d = _c.Dim, v = _c.Vocabulary;
        Span<float> last = _last.AsSpan(0, count * d);
        if (_c.PreNorm)
            Normalize(rows, _model.FinalGamma!, _model.FinalBeta!, last);
        else
            rows.CopyTo(last);
        // A step's few rows stream the head once (the tied head is the embedding, [Vocabulary, Dim]: row dot products).
        int dop = KernelParallelism.DefaultMaxDegreeOfParallelism;
        if (_model.Head is null)
            FewRowGemm.MultiplyTransposed(last, _model.TokenEmbedding.Value, logits, count, d, v, dop);
        else
            FewRowGemm.Multiply(last, _model.Head.Value, default, logits, count, d, v, dop);
    }

    /// <summary>y = x·W + b: a decode step's few rows, and a small model's prompt, stream W in place (FewRowGemm); a
    /// larger model's prompt goes through the training forward's blocked product. Both compute each output in the same
    /// k-order FMA chain.</summary>
    private static void Linear(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, Span<float> y, int rows, int inputs, int outputs)
    {
        if (FewRowGemm.Suits(rows, inputs, outputs))
            FewRowGemm.Multiply(x, weight.Value, bias.Value, y, rows, inputs, outputs, KernelParallelism.DefaultMaxDegreeOfParallelism);
        else
            TransformerLanguageModel.Linear(x, weight, bias, y, rows, inputs, outputs, KernelParallelism.DefaultMaxDegreeOfParallelism);
    }

    private static void Add(Span<float> target, ReadOnlySpan<float> addend) => TrainingKernels.Add(target, addend);

    /// <summary>The vectorised LayerNorm of the inference kernels (two passes, lane sums widened to double).</summary>
    private void Normalize(ReadOnlySpan<float> x, TrainableTensor gamma, TrainableTensor beta, Span<float> y) =>
        LayerNormalization.Normalize(x, gamma.Value, beta.Value, _c.LayerNormEpsilon, y, KernelParallelism.DefaultMaxDegreeOfParallelism);

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
