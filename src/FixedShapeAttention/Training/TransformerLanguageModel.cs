using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// A transformer language model that trains: token and learned position embeddings, <see cref="LanguageModelConfig.Layers"/>
/// layers of multi-head self-attention and a feed-forward network (pre-norm as GPT-2 or post-norm as BERT, causal or
/// bidirectional), and a head tied to the token embedding or its own. <see cref="ForwardBackward(ReadOnlySpan{int}, ReadOnlySpan{int})"/>
/// runs a batch forward, keeping what backward needs in a workspace reused across calls, and adds the gradient of the
/// mean cross-entropy to every parameter's <see cref="TrainableTensor.Gradient"/>.
/// </summary>
/// <remarks>
/// Determinism: activations are computed row by row or (sequence, head) by (sequence, head); each element of a weight
/// gradient is one multiply-add chain over the rows in batch order, continuing from the value the gradient holds, and each bias
/// gradient is summed sequence by sequence in batch order. So gradients are the same bits for every degree of
/// parallelism, and a batch split into micro-batches of whole sequences (with
/// <c>averageOver</c> set to the batch's scored targets) accumulates to the same bits as the batch in one call.
/// Once the workspace has grown to the largest batch, a call allocates nothing.
/// </remarks>
public sealed class TransformerLanguageModel
{
    private readonly LanguageModelConfig _c;
    private readonly TrainableTensor[] _parameters;
    private readonly Dictionary<string, TrainableTensor> _byName;
    private readonly Layer[] _layers;
    private readonly TrainableTensor _tokens;
    private readonly TrainableTensor? _positions;
    private readonly RotaryEmbedding? _rotary;
    private readonly TrainableTensor? _finalGamma, _finalBeta, _head;
    private Workspace? _workspace;
    private TrainingAttentionKernels _attention;
    private GeneratedFeedForward? _feedForward;
    private GeneratedProjections? _projections;
    private TrainingRowKernels _rows;

    /// <summary>A model with every parameter zero; see <see cref="Initialize"/>.</summary>
    /// <exception cref="ArgumentException">The configuration is inconsistent (a dimension not positive, Dim not a multiple of Heads).</exception>
    public TransformerLanguageModel(LanguageModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _c = config;
        _attention = new RuntimeAttentionKernels(config);
        _rows = new RuntimeRowKernels(config);
        int d = config.Dim, f = config.Ffn, kv = config.KeyValueDim;
        var parameters = new List<TrainableTensor>();
        TrainableTensor Add(string name, bool decays, params int[] shape)
        {
            var tensor = new TrainableTensor(name, shape, decays);
            parameters.Add(tensor);
            return tensor;
        }

        _tokens = Add("embed.tokens", true, config.Vocabulary, d);
        if (config.RotaryPositions)
            _rotary = new RotaryEmbedding(config.HeadDim, config.SequenceLength, config.RotaryTheta, RotaryLayout.Half);
        else
            _positions = Add("embed.positions", true, config.SequenceLength, d);
        _layers = new Layer[config.Layers];
        for (int l = 0; l < config.Layers; l++)
        {
            string p = $"layers.{l}.";
            _layers[l] = new Layer(
                Add(p + "ln1.gamma", false, d), Add(p + "ln1.beta", false, d),
                Add(p + "attn.wq", true, d, d), Add(p + "attn.bq", false, d),
                Add(p + "attn.wk", true, d, kv), Add(p + "attn.bk", false, kv),
                Add(p + "attn.wv", true, d, kv), Add(p + "attn.bv", false, kv),
                Add(p + "attn.wo", true, d, d), Add(p + "attn.bo", false, d),
                Add(p + "ln2.gamma", false, d), Add(p + "ln2.beta", false, d),
                Add(p + "ffn.w1", true, d, f), Add(p + "ffn.b1", false, f),
                Add(p + "ffn.w2", true, f, d), Add(p + "ffn.b2", false, d));
        }

        if (config.PreNorm)
        {
            _finalGamma = Add("final_ln.gamma", false, d);
            _finalBeta = Add("final_ln.beta", false, d);
        }

        if (!config.TiedEmbeddings)
            _head = Add("head.weight", true, d, config.Vocabulary);

        _parameters = parameters.ToArray();
        _byName = _parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (TrainableTensor p in _parameters.Where(p => p.Name.EndsWith(".gamma", StringComparison.Ordinal)))
            Array.Fill(p.Value, 1f);
    }

    /// <summary>The dimensions and options.</summary>
    public LanguageModelConfig Config => _c;

    /// <summary>
    /// Runs attention, and the feed-forward network when the declared <c>FfnDim</c> and <c>Activation</c> match the
    /// configuration's, forward and backward, the square projections' backward passes, LayerNorm, the embeddings'
    /// backward pass and the cross-entropy on the kernels the source generator emitted for <typeparamref name="TKernels"/>'s
    /// declared shape instead of the runtime-shape ones; the gradients agree within float rounding (both are held to the
    /// same float64 reference). The forward products of the projections, the embedding lookup and the head stay on the
    /// runtime-shape kernels.
    /// </summary>
    /// <returns>This model.</returns>
    /// <exception cref="ArgumentException">The declared shape's SequenceLength, EmbeddingDim, Heads or Causal differs from the
    /// configuration's, or the configuration or the shape has grouped-query attention (the generated backward needs one key/value head per head).</exception>
    public TransformerLanguageModel UseKernels<TKernels>()
        where TKernels : ITrainingKernels
    {
        TransformerShape shape = TKernels.Shape;
        if (shape.SequenceLength != _c.SequenceLength || shape.EmbeddingDim != _c.Dim || shape.Heads != _c.Heads || shape.Causal != _c.Causal
            || _c.KeyValueHeadCount != _c.Heads || TKernels.KeyValueHeads != shape.Heads)
        {
            throw new ArgumentException(
                $"TKernels: {typeof(TKernels).Name} declares SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, Heads {shape.Heads}, " +
                $"Causal {shape.Causal}, KeyValueHeads {TKernels.KeyValueHeads}; the model has SequenceLength {_c.SequenceLength}, Dim {_c.Dim}, Heads {_c.Heads}, Causal {_c.Causal}, " +
                $"KeyValueHeads {_c.KeyValueHeadCount} (generated attention needs one key/value head per head).", nameof(TKernels));
        }

        _attention = new GeneratedAttentionKernels<TKernels>();
        _feedForward = shape.FfnDim == _c.Ffn && shape.Activation == _c.Activation ? new GeneratedFeedForward<TKernels>() : null;
        _projections = new GeneratedProjections<TKernels>();
        _rows = new GeneratedRowKernels<TKernels>();
        return this;
    }

    internal IReadOnlyList<Layer> LayerParameters => _layers;

    internal TrainableTensor TokenEmbedding => _tokens;

    internal TrainableTensor? PositionEmbedding => _positions;

    internal RotaryEmbedding? Rotary => _rotary;

    internal TrainableTensor? FinalGamma => _finalGamma;

    internal TrainableTensor? FinalBeta => _finalBeta;

    internal TrainableTensor? Head => _head;

    /// <summary>Every parameter, in a fixed order (embeddings, layers in order, final LayerNorm, head).</summary>
    public IReadOnlyList<TrainableTensor> Parameters => _parameters;

    /// <summary>The parameter named <paramref name="name"/> (for example <c>layers.0.attn.wq</c>).</summary>
    /// <exception cref="KeyNotFoundException">The model has no such parameter.</exception>
    public TrainableTensor GetParameter(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out TrainableTensor? p) ? p : throw new KeyNotFoundException($"the model has no parameter '{name}'.");
    }

    /// <summary>GPT-2's initialisation: weights and embeddings from N(0, 0.02²), the projections that end a residual
    /// branch (attn.wo, ffn.w2) from N(0, (0.02/√(2·Layers))²), biases 0, LayerNorm γ = 1 and β = 0. Reproducible:
    /// the same seed gives the same bits everywhere.</summary>
    public void Initialize(ulong seed)
    {
        var normal = new NormalSource(seed);
        foreach (TrainableTensor p in _parameters)
        {
            bool gamma = p.Name.EndsWith(".gamma", StringComparison.Ordinal);
            bool matrix = p.Shape.Length == 2;
            double deviation = p.Name.EndsWith("attn.wo", StringComparison.Ordinal) || p.Name.EndsWith("ffn.w2", StringComparison.Ordinal)
                ? 0.02 / Math.Sqrt(2.0 * _c.Layers)
                : 0.02;
            for (int i = 0; i < p.Value.Length; i++)
                p.Value[i] = gamma ? 1f : matrix ? (float)(deviation * normal.Next()) : 0f;
        }
    }

    /// <summary>Sets every gradient to zero (before the first micro-batch of a step).</summary>
    public void ZeroGradients()
    {
        foreach (TrainableTensor p in _parameters)
            Array.Clear(p.Gradient);
    }

    /// <summary>Forward and backward over a batch with the process-wide default parallelism; adds the gradient of the
    /// mean loss to the parameters' gradients.</summary>
    /// <param name="tokens">[batch, SequenceLength] token ids.</param>
    /// <param name="targets">[batch, SequenceLength]: the token to predict at each position, or
    /// <see cref="SoftmaxCrossEntropy.IgnoreIndex"/>.</param>
    /// <returns>The mean cross-entropy over the scored targets.</returns>
    /// <exception cref="ArgumentException">A length is not a whole number of sequences, or the two differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token or target is outside the vocabulary; checked before anything is written.</exception>
    public double ForwardBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets) =>
        ForwardBackward(tokens, targets, 0, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary>As the other overload, averaging over <paramref name="averageOver"/> targets (0: this batch's scored
    /// ones), so that micro-batches add up to their batch, on at most <paramref name="maxDegreeOfParallelism"/> threads.</summary>
    /// <returns>This call's loss sum divided by the count it averages over.</returns>
    public double ForwardBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int averageOver, int maxDegreeOfParallelism)
    {
        int batch = Validate(tokens, targets);
        if (averageOver < 0)
            throw new ArgumentOutOfRangeException(nameof(averageOver), averageOver, "averageOver must be ≥ 0.");
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        Workspace w = WorkspaceFor(batch);
        Forward(tokens, batch, w, maxDegreeOfParallelism);
        Span<float> logits = w.Logits.AsSpan(0, tokens.Length * _c.Vocabulary);
        // The gradient of the logits overwrites them: backward needs only the gradient.
        double loss = _rows.CrossEntropy(logits, targets, _c.Vocabulary, logits, averageOver, maxDegreeOfParallelism);
        Backward(tokens, batch, w, maxDegreeOfParallelism);
        return loss;
    }

    /// <summary>The mean cross-entropy of a batch, forward only; gradients are untouched.</summary>
    public double Loss(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets)
    {
        int batch = Validate(tokens, targets);
        Workspace w = WorkspaceFor(batch);
        Forward(tokens, batch, w, KernelParallelism.DefaultMaxDegreeOfParallelism);
        Span<float> logits = w.Logits.AsSpan(0, tokens.Length * _c.Vocabulary);
        return SoftmaxCrossEntropy.Compute(logits, targets, _c.Vocabulary, logits);
    }

    /// <summary>Writes the logits of every position, [batch, SequenceLength, Vocabulary], forward only.</summary>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public void Logits(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        int batch = Validate(tokens, tokens, checkTargets: false);
        if (logits.Length != (long)tokens.Length * _c.Vocabulary)
            throw new ArgumentException($"logits: expected {(long)tokens.Length * _c.Vocabulary} = {tokens.Length}×{_c.Vocabulary} (tokens × Vocabulary), got {logits.Length}.", nameof(logits));
        Workspace w = WorkspaceFor(batch);
        Forward(tokens, batch, w, KernelParallelism.DefaultMaxDegreeOfParallelism);
        w.Logits.AsSpan(0, logits.Length).CopyTo(logits);
    }

    /// <summary>The parameters as checkpoint tensors, sharing the model's arrays, and the configuration as metadata.</summary>
    public IEnumerable<NamedTensor> ParameterTensors() => _parameters.Select(p => p.ToNamedTensor());

    /// <summary>The configuration as checkpoint metadata (<c>model.*</c> keys).</summary>
    public IReadOnlyDictionary<string, string> ConfigMetadata() => new Dictionary<string, string>
    {
        ["model.vocabulary"] = Invariant(_c.Vocabulary),
        ["model.sequence_length"] = Invariant(_c.SequenceLength),
        ["model.dim"] = Invariant(_c.Dim),
        ["model.heads"] = Invariant(_c.Heads),
        ["model.ffn"] = Invariant(_c.Ffn),
        ["model.layers"] = Invariant(_c.Layers),
        ["model.causal"] = _c.Causal ? "true" : "false",
        ["model.pre_norm"] = _c.PreNorm ? "true" : "false",
        ["model.tied_embeddings"] = _c.TiedEmbeddings ? "true" : "false",
        ["model.activation"] = _c.Activation.ToString(),
        ["model.layer_norm_epsilon"] = _c.LayerNormEpsilon.ToString("R", CultureInfo.InvariantCulture),
        ["model.key_value_heads"] = Invariant(_c.KeyValueHeads),
        ["model.rotary"] = _c.RotaryPositions ? "true" : "false",
        ["model.rotary_theta"] = _c.RotaryTheta.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>A model of the configuration a checkpoint's metadata records, with its parameters.</summary>
    /// <exception cref="InvalidDataException">The metadata is missing or invalid, or a parameter is missing or of another shape.</exception>
    public static TransformerLanguageModel FromCheckpoint(SafetensorsFile checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        IReadOnlyDictionary<string, string> m = checkpoint.Metadata;
        LanguageModelConfig config;
        try
        {
            config = new LanguageModelConfig
            {
                Vocabulary = Int(m, "model.vocabulary"),
                SequenceLength = Int(m, "model.sequence_length"),
                Dim = Int(m, "model.dim"),
                Heads = Int(m, "model.heads"),
                Ffn = Int(m, "model.ffn"),
                Layers = Int(m, "model.layers"),
                Causal = Bool(m, "model.causal"),
                PreNorm = Bool(m, "model.pre_norm"),
                TiedEmbeddings = Bool(m, "model.tied_embeddings"),
                Activation = Enum.TryParse(Text(m, "model.activation"), out Activation a) && Enum.IsDefined(a) ? a : throw Bad("model.activation"),
                LayerNormEpsilon = float.TryParse(Text(m, "model.layer_norm_epsilon"), NumberStyles.Float, CultureInfo.InvariantCulture, out float e) ? e : throw Bad("model.layer_norm_epsilon"),
                // Absent from checkpoints written before grouped-query attention and RoPE: their defaults then.
                KeyValueHeads = m.ContainsKey("model.key_value_heads") ? Int(m, "model.key_value_heads") : 0,
                RotaryPositions = m.ContainsKey("model.rotary") && Bool(m, "model.rotary"),
                RotaryTheta = !m.ContainsKey("model.rotary_theta") ? 10_000.0
                    : double.TryParse(Text(m, "model.rotary_theta"), NumberStyles.Float, CultureInfo.InvariantCulture, out double theta) ? theta : throw Bad("model.rotary_theta"),
            };
            config.Validate();
        }
        catch (ArgumentException error)
        {
            throw new InvalidDataException($"the checkpoint's model configuration is invalid: {error.Message}", error);
        }

        var model = new TransformerLanguageModel(config);
        model.LoadParameters(checkpoint);
        return model;
    }

    /// <summary>Copies every parameter from a checkpoint, after checking all of them.</summary>
    /// <exception cref="InvalidDataException">A parameter is missing or of another shape; nothing is copied then.</exception>
    public void LoadParameters(SafetensorsFile checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var sources = new float[_parameters.Length][];
        for (int i = 0; i < _parameters.Length; i++)
        {
            TrainableTensor p = _parameters[i];
            if (!checkpoint.TryGetTensor(p.Name, out NamedTensor tensor))
                throw new InvalidDataException($"the checkpoint has no parameter '{p.Name}'.");
            if (!tensor.Shape.SequenceEqual(p.Shape))
                throw new InvalidDataException($"parameter '{p.Name}' has shape [{string.Join(", ", tensor.Shape.ToArray())}] in the checkpoint, [{string.Join(", ", p.Shape.ToArray())}] in the model.");
            sources[i] = tensor.Data;
        }

        for (int i = 0; i < _parameters.Length; i++)
            sources[i].CopyTo(_parameters[i].Value, 0);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static InvalidDataException Bad(string key) => new($"the checkpoint's metadata '{key}' is missing or invalid.");

    private static string Text(IReadOnlyDictionary<string, string> m, string key) => m.TryGetValue(key, out string? v) ? v : throw Bad(key);

    private static int Int(IReadOnlyDictionary<string, string> m, string key) =>
        int.TryParse(Text(m, key), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw Bad(key);

    private static bool Bool(IReadOnlyDictionary<string, string> m, string key) => Text(m, key) switch
    {
        "true" => true,
        "false" => false,
        _ => throw Bad(key),
    };

    internal int Validate(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, bool checkTargets = true)
    {
        int t = _c.SequenceLength;
        if (tokens.IsEmpty || tokens.Length % t != 0)
            throw new ArgumentException($"tokens: expected a positive multiple of {t} (SequenceLength), got {tokens.Length}.", nameof(tokens));
        if (targets.Length != tokens.Length)
            throw new ArgumentException($"targets: expected {tokens.Length} (the length of tokens), got {targets.Length}.", nameof(targets));
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)_c.Vocabulary)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"tokens[{i}]: expected a token in [0, {_c.Vocabulary}).");
            if (checkTargets && targets[i] != SoftmaxCrossEntropy.IgnoreIndex && (uint)targets[i] >= (uint)_c.Vocabulary)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"targets[{i}]: expected a token in [0, {_c.Vocabulary}) or IgnoreIndex.");
        }

        return tokens.Length / t;
    }

    private Workspace WorkspaceFor(int batch)
    {
        if (_workspace is null || _workspace.Batch < batch)
            _workspace = new Workspace(_c, batch);
        return _workspace;
    }

    private void Forward(ReadOnlySpan<int> tokens, int batch, Workspace w, int dop)
    {
        int t = _c.SequenceLength, d = _c.Dim, n = batch * t;
        Span<float> x = w.Residual[0].AsSpan(0, n * d);
        for (int r = 0; r < n; r++)
        {
            _tokens.Value.AsSpan(tokens[r] * d, d).CopyTo(x.Slice(r * d, d));
            if (_positions is not null)
                TrainingKernels.Add(x.Slice(r * d, d), _positions.Value.AsSpan(r % t * d, d));
        }

        for (int l = 0; l < _layers.Length; l++)
            LayerForward(_layers[l], w.Caches[l], w.Residual[l].AsSpan(0, n * d), w.Residual[l + 1].AsSpan(0, n * d), batch, w, dop);

        Span<float> final = w.Residual[_layers.Length].AsSpan(0, n * d);
        Span<float> headInput = final;
        if (_c.PreNorm)
        {
            headInput = w.FinalNorm.AsSpan(0, n * d);
            _rows.LayerNormForward(final, _finalGamma!.Value, _finalBeta!.Value, _c.LayerNormEpsilon, headInput, w.FinalMean.AsSpan(0, n), w.FinalRstd.AsSpan(0, n), dop);
        }

        if (_head is null)
            PanelGemm.Multiply(headInput, d, false, _tokens.Value, d, true, w.Logits.AsSpan(0, n * _c.Vocabulary), _c.Vocabulary, n, _c.Vocabulary, d, false, dop);
        else
            PanelGemm.Multiply(headInput, d, false, _head.Value, _c.Vocabulary, false, w.Logits.AsSpan(0, n * _c.Vocabulary), _c.Vocabulary, n, _c.Vocabulary, d, false, dop);
    }

    private void LayerForward(Layer p, LayerCache c, Span<float> input, Span<float> output, int batch, Workspace w, int dop)
    {
        int t = _c.SequenceLength, d = _c.Dim, f = _c.Ffn, n = batch * t;
        Span<float> attentionInput = input;
        if (_c.PreNorm)
        {
            attentionInput = c.Norm1.AsSpan(0, n * d);
            _rows.LayerNormForward(input, p.Ln1Gamma.Value, p.Ln1Beta.Value, _c.LayerNormEpsilon, attentionInput, c.Mean1.AsSpan(0, n), c.Rstd1.AsSpan(0, n), dop);
        }

        int kv = _c.KeyValueDim;
        Linear(attentionInput, p.Wq, p.Bq, c.Q.AsSpan(0, n * d), n, d, d, dop);
        Linear(attentionInput, p.Wk, p.Bk, c.K.AsSpan(0, n * kv), n, d, kv, dop);
        Linear(attentionInput, p.Wv, p.Bv, c.V.AsSpan(0, n * kv), n, d, kv, dop);
        if (_rotary is not null)
        {
            // RoPE turns Q and K by each row's position; attention and its backward see only the turned rows.
            _rotary.Apply(c.Q.AsSpan(0, n * d), w.Positions.AsSpan(0, n));
            _rotary.Apply(c.K.AsSpan(0, n * kv), w.Positions.AsSpan(0, n));
        }

        _attention.Forward(c.Q.AsSpan(0, n * d), c.K.AsSpan(0, n * kv), c.V.AsSpan(0, n * kv), c.O.AsSpan(0, n * d), c.Lse.AsSpan(0, batch * _c.Heads * t), batch, dop);
        Span<float> sum1 = c.Sum1.AsSpan(0, n * d);
        Linear(c.O.AsSpan(0, n * d), p.Wo, p.Bo, sum1, n, d, d, dop);
        Add(sum1, input);

        Span<float> ffnInput;
        if (_c.PreNorm)
        {
            ffnInput = c.Norm2.AsSpan(0, n * d);
            _rows.LayerNormForward(sum1, p.Ln2Gamma.Value, p.Ln2Beta.Value, _c.LayerNormEpsilon, ffnInput, c.Mean2.AsSpan(0, n), c.Rstd2.AsSpan(0, n), dop);
        }
        else
        {
            ffnInput = c.Norm1.AsSpan(0, n * d);
            _rows.LayerNormForward(sum1, p.Ln1Gamma.Value, p.Ln1Beta.Value, _c.LayerNormEpsilon, ffnInput, c.Mean1.AsSpan(0, n), c.Rstd1.AsSpan(0, n), dop);
        }

        Span<float> ffnOutput = _c.PreNorm ? output : c.Norm2.AsSpan(0, n * d);
        if (_feedForward is not null)
        {
            _feedForward.Forward(ffnInput, p, c.H.AsSpan(0, n * f), c.G.AsSpan(0, n * f), ffnOutput, dop);
        }
        else
        {
            Linear(ffnInput, p.W1, p.B1, c.H.AsSpan(0, n * f), n, d, f, dop);
            TrainingKernels.Activate(_c.Activation, c.H.AsSpan(0, n * f), c.G.AsSpan(0, n * f), t * f, dop);
            Linear(c.G.AsSpan(0, n * f), p.W2, p.B2, ffnOutput, n, f, d, dop);
        }

        if (_c.PreNorm)
        {
            Add(output, sum1);
        }
        else
        {
            Span<float> sum2 = ffnOutput;
            Add(sum2, ffnInput);
            _rows.LayerNormForward(sum2, p.Ln2Gamma.Value, p.Ln2Beta.Value, _c.LayerNormEpsilon, output, c.Mean2.AsSpan(0, n), c.Rstd2.AsSpan(0, n), dop);
        }
    }

    private void Backward(ReadOnlySpan<int> tokens, int batch, Workspace w, int dop)
    {
        int t = _c.SequenceLength, d = _c.Dim, v = _c.Vocabulary, n = batch * t;
        Span<float> dLogits = w.Logits.AsSpan(0, n * v);
        Span<float> headInput = _c.PreNorm ? w.FinalNorm.AsSpan(0, n * d) : w.Residual[_layers.Length].AsSpan(0, n * d);
        Span<float> dx = w.Gradient.AsSpan(0, n * d);
        if (_head is null)
        {
            // The tied head's share of the token embedding's gradient is added at the end, sequence by sequence with
            // the embedding's own, so that micro-batches add the same terms in the same order.
            PanelGemm.Multiply(dLogits, v, false, _tokens.Value, d, false, dx, d, n, d, v, false, dop);
        }
        else
        {
            LinearGradients.Input(dLogits, _head.Value, dx, n, d, v, false, dop);
            LinearGradients.AccumulateWeights(headInput, dLogits, _head.Gradient, default, n, d, v, t, dop);
        }

        if (_c.PreNorm)
            _rows.LayerNormBackward(w.Residual[_layers.Length].AsSpan(0, n * d), _finalGamma!.Value, w.FinalMean.AsSpan(0, n), w.FinalRstd.AsSpan(0, n), dx, default, dx, _finalGamma.Gradient, _finalBeta!.Gradient, dop);

        for (int l = _layers.Length - 1; l >= 0; l--)
            LayerBackward(_layers[l], w.Caches[l], w.Residual[l].AsSpan(0, n * d), dx, batch, w, dop);

        Span<float> positionGradient = _positions is null ? default : _positions.Gradient;
        if (_head is null)
        {
            // The tied head's share and the embedding rows of each sequence, sequence by sequence: micro-batches add the same
            // terms to the token gradient in the same order.
            for (int b = 0; b < batch; b++)
            {
                PanelGemm.MultiplyAccumulateChained(dLogits.Slice(b * t * v, t * v), v, true, headInput.Slice(b * t * d, t * d), d, false, _tokens.Gradient, d, v, d, t, dop);
                _rows.EmbeddingBackward(tokens.Slice(b * t, t), dx.Slice(b * t * d, t * d), _tokens.Gradient, positionGradient, dop);
            }
        }
        else
        {
            _rows.EmbeddingBackward(tokens, dx, _tokens.Gradient, positionGradient, dop);
        }
    }

    /// <summary>Turns dx, the gradient of the layer's output, into the gradient of its input, in place.</summary>
    private void LayerBackward(Layer p, LayerCache c, Span<float> input, Span<float> dx, int batch, Workspace w, int dop)
    {
        int t = _c.SequenceLength, d = _c.Dim, f = _c.Ffn, n = batch * t;
        // Pre-norm: the output is the FFN's sum, so its gradient dm is dx itself, which stays unchanged until the end.
        Span<float> dm = _c.PreNorm ? dx : w.Scratch1.AsSpan(0, n * d);
        Span<float> dSum1 = w.Scratch2.AsSpan(0, n * d);
        Span<float> ffnInput = (_c.PreNorm ? c.Norm2 : c.Norm1).AsSpan(0, n * d);
        if (!_c.PreNorm)
            _rows.LayerNormBackward(c.Norm2.AsSpan(0, n * d), p.Ln2Gamma.Value, c.Mean2.AsSpan(0, n), c.Rstd2.AsSpan(0, n), dx, default, dm, p.Ln2Gamma.Gradient, p.Ln2Beta.Gradient, dop);

        Span<float> dG = w.Hidden.AsSpan(0, n * f);
        Span<float> dFfnInput = w.Scratch3.AsSpan(0, n * d);
        if (_feedForward is not null)
        {
            _feedForward.Backward(ffnInput, p, c.H.AsSpan(0, n * f), c.G.AsSpan(0, n * f), dm, dFfnInput, dG, dop);
        }
        else
        {
            LinearBackward(c.G.AsSpan(0, n * f), p.W2, p.B2, dm, dG, n, f, d, batch, w, dop);
            TrainingKernels.ActivationBackward(_c.Activation, c.H.AsSpan(0, n * f), dG, t * f, dop);
            LinearBackward(ffnInput, p.W1, p.B1, dG, dFfnInput, n, d, f, batch, w, dop);
        }

        if (_c.PreNorm)
        {
            // sum1 feeds the FFN through LN₂ and the output directly.
            _rows.LayerNormBackward(c.Sum1.AsSpan(0, n * d), p.Ln2Gamma.Value, c.Mean2.AsSpan(0, n), c.Rstd2.AsSpan(0, n), dFfnInput, dx, dSum1, p.Ln2Gamma.Gradient, p.Ln2Beta.Gradient, dop);
        }
        else
        {
            // n1 = LN₁(sum1) feeds the FFN and, through the residual, LN₂'s input.
            Add(dFfnInput, dm);
            _rows.LayerNormBackward(c.Sum1.AsSpan(0, n * d), p.Ln1Gamma.Value, c.Mean1.AsSpan(0, n), c.Rstd1.AsSpan(0, n), dFfnInput, default, dSum1, p.Ln1Gamma.Gradient, p.Ln1Beta.Gradient, dop);
        }

        // sum1 = input + O·Wo + bo.
        Span<float> dO = w.Scratch1.AsSpan(0, n * d);
        ProjectionBackward(c.O.AsSpan(0, n * d), p.Wo, p.Bo, dSum1, dO, n, d, d, batch, w, dop);
        int kv = _c.KeyValueDim;
        Span<float> dQ = w.Q.AsSpan(0, n * d), dK = w.K.AsSpan(0, n * kv), dV = w.V.AsSpan(0, n * kv);
        _attention.Backward(c.Q.AsSpan(0, n * d), c.K.AsSpan(0, n * kv), c.V.AsSpan(0, n * kv), c.O.AsSpan(0, n * d), c.Lse.AsSpan(0, batch * _c.Heads * t), dO, dQ, dK, dV, batch, dop);
        if (_rotary is not null)
        {
            // The rotation is orthogonal: its transpose takes the gradients back to the projections' outputs.
            _rotary.ApplyInverse(dQ, w.Positions.AsSpan(0, n));
            _rotary.ApplyInverse(dK, w.Positions.AsSpan(0, n));
        }

        Span<float> attentionInput = _c.PreNorm ? c.Norm1.AsSpan(0, n * d) : input;
        Span<float> dAttentionInput = w.Scratch3.AsSpan(0, n * d);
        ProjectionBackward(attentionInput, p.Wq, p.Bq, dQ, dAttentionInput, n, d, d, batch, w, dop);
        ProjectionBackward(attentionInput, p.Wk, p.Bk, dK, dAttentionInput, n, d, kv, batch, w, dop, accumulateInput: true);
        ProjectionBackward(attentionInput, p.Wv, p.Bv, dV, dAttentionInput, n, d, kv, batch, w, dop, accumulateInput: true);

        if (_c.PreNorm)
        {
            _rows.LayerNormBackward(input, p.Ln1Gamma.Value, c.Mean1.AsSpan(0, n), c.Rstd1.AsSpan(0, n), dAttentionInput, dSum1, dx, p.Ln1Gamma.Gradient, p.Ln1Beta.Gradient, dop);
        }
        else
        {
            dSum1.CopyTo(dx);
            Add(dx, dAttentionInput);
        }
    }

    /// <summary>y = x·W + b over n rows (also the decoder's projections).</summary>
    internal static void Linear(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, Span<float> y, int n, int inputs, int outputs, int dop)
    {
        PanelGemm.MultiplyAddBias(x, inputs, false, weight.Value, outputs, false, y, outputs, n, outputs, inputs, bias.Value, dop);
    }

    /// <summary>dW += xᵀ·dy (one chain over the rows in order) and db += Σ dy (sequence by sequence in batch order); dx = dy·Wᵀ (or dx += with
    /// <paramref name="accumulateInput"/>).</summary>
    private void LinearBackward(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, ReadOnlySpan<float> dy, Span<float> dx,
        int n, int inputs, int outputs, int batch, Workspace w, int dop, bool accumulateInput = false)
    {
        LinearGradients.AccumulateWeights(x, dy, weight.Gradient, bias.Gradient, n, inputs, outputs, _c.SequenceLength, dop);
        LinearGradients.Input(dy, weight.Value, dx, n, inputs, outputs, accumulateInput, dop);
    }

    /// <summary>An attention projection's backward pass: on the generated kernels when the model uses them (their projections
    /// are square; <see cref="UseKernels{TKernels}"/> rejects grouped-query attention), else <see cref="LinearBackward"/>.</summary>
    private void ProjectionBackward(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, ReadOnlySpan<float> dy, Span<float> dx,
        int n, int inputs, int outputs, int batch, Workspace w, int dop, bool accumulateInput = false)
    {
        if (_projections is not null)
            _projections.Backward(x, weight, bias, dy, dx, accumulateInput, dop);
        else
            LinearBackward(x, weight, bias, dy, dx, n, inputs, outputs, batch, w, dop, accumulateInput);
    }

    private static void Add(Span<float> target, ReadOnlySpan<float> addend) => TrainingKernels.Add(target, addend);

    internal sealed record Layer(
        TrainableTensor Ln1Gamma, TrainableTensor Ln1Beta,
        TrainableTensor Wq, TrainableTensor Bq, TrainableTensor Wk, TrainableTensor Bk, TrainableTensor Wv, TrainableTensor Bv,
        TrainableTensor Wo, TrainableTensor Bo, TrainableTensor Ln2Gamma, TrainableTensor Ln2Beta,
        TrainableTensor W1, TrainableTensor B1, TrainableTensor W2, TrainableTensor B2);

    /// <summary>What one layer's backward pass needs from its forward pass. Post-norm keeps LN₁(sum1) in Norm1 and
    /// the sum before LN₂ in Norm2.</summary>
    private sealed class LayerCache(LanguageModelConfig c, int batch)
    {
        public readonly float[] Norm1 = new float[batch * c.SequenceLength * c.Dim], Mean1 = new float[batch * c.SequenceLength], Rstd1 = new float[batch * c.SequenceLength];
        public readonly float[] Q = new float[batch * c.SequenceLength * c.Dim], K = new float[batch * c.SequenceLength * c.KeyValueDim], V = new float[batch * c.SequenceLength * c.KeyValueDim];
        public readonly float[] O = new float[batch * c.SequenceLength * c.Dim], Lse = new float[batch * c.Heads * c.SequenceLength];
        public readonly float[] Sum1 = new float[batch * c.SequenceLength * c.Dim];
        public readonly float[] Norm2 = new float[batch * c.SequenceLength * c.Dim], Mean2 = new float[batch * c.SequenceLength], Rstd2 = new float[batch * c.SequenceLength];
        public readonly float[] H = new float[batch * c.SequenceLength * c.Ffn], G = new float[batch * c.SequenceLength * c.Ffn];
    }

    /// <summary>Every buffer of a step for batches up to <see cref="Batch"/>, allocated once.</summary>
    private sealed class Workspace
    {
        public Workspace(LanguageModelConfig c, int batch)
        {
            Batch = batch;
            int n = batch * c.SequenceLength;
            Residual = Enumerable.Range(0, c.Layers + 1).Select(_ => new float[n * c.Dim]).ToArray();
            Caches = Enumerable.Range(0, c.Layers).Select(_ => new LayerCache(c, batch)).ToArray();
            FinalNorm = new float[n * c.Dim];
            FinalMean = new float[n];
            FinalRstd = new float[n];
            Logits = new float[(long)n * c.Vocabulary > Array.MaxLength ? throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch's logits exceed an array.") : n * c.Vocabulary];
            Gradient = new float[n * c.Dim];
            Scratch1 = new float[n * c.Dim];
            Scratch2 = new float[n * c.Dim];
            Scratch3 = new float[n * c.Dim];
            Q = new float[n * c.Dim];
            K = new float[n * c.KeyValueDim];
            V = new float[n * c.KeyValueDim];
            Positions = Enumerable.Range(0, n).Select(r => r % c.SequenceLength).ToArray();
            Hidden = new float[n * c.Ffn];
        }

        public int Batch { get; }

        public float[][] Residual { get; }

        public LayerCache[] Caches { get; }

        public float[] FinalNorm { get; }

        public float[] FinalMean { get; }

        public float[] FinalRstd { get; }

        public float[] Logits { get; }

        public float[] Gradient { get; }

        public float[] Scratch1 { get; }

        public float[] Scratch2 { get; }

        public float[] Scratch3 { get; }

        public float[] Q { get; }

        public float[] K { get; }

        public float[] V { get; }

        public float[] Hidden { get; }

        /// <summary>Each row's position in its sequence, for RoPE.</summary>
        public int[] Positions { get; }
    }

    /// <summary>Standard normal deviates by Box–Muller from SplitMix64, reproducible on any runtime.</summary>
    private sealed class NormalSource(ulong seed)
    {
        private SplitMix64 _random = new(seed);
        private double? _spare;

        public double Next()
        {
            if (_spare is double spare)
            {
                _spare = null;
                return spare;
            }

            double u1 = 1.0 - _random.NextUnit(), u2 = _random.NextUnit();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            _spare = radius * Math.Sin(2 * Math.PI * u2);
            return radius * Math.Cos(2 * Math.PI * u2);
        }
    }
}
