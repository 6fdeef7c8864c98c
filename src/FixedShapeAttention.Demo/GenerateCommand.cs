using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Demo;

/// <summary>
/// <c>generate "prompt" [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--checkpoint PATH] [--runtime-kernels]</c>:
/// streams bytes from the model the train command wrote (training a short one first when there is none), through the
/// key/value-cache decoder, and ends with <c>generated: N tokens, prefill P tokens/s, decode D tokens/s</c>.
/// </summary>
internal static class GenerateCommand
{
    public static int Run(string[] args)
    {
        string? prompt = null;
        string checkpoint = Path.Combine(TrainCommand.DefaultOutput, "checkpoint.safetensors");
        int tokens = 200;
        ulong seed = 1;
        var sampling = new SamplingOptions { Temperature = 0.8f, TopK = 40, TopP = 0.95f };
        bool runtimeKernels = false;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--tokens": tokens = int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture); break;
                    case "--temperature": sampling = sampling with { Temperature = float.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture) }; break;
                    case "--top-k": sampling = sampling with { TopK = int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture) }; break;
                    case "--top-p": sampling = sampling with { TopP = float.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture) }; break;
                    case "--seed": seed = ulong.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture); break;
                    case "--checkpoint": checkpoint = Value(); break;
                    case "--runtime-kernels": runtimeKernels = true; break;
                    default:
                        if (prompt is not null || args[i].StartsWith("--", StringComparison.Ordinal))
                            throw new FormatException($"unknown argument '{args[i]}'");
                        prompt = args[i];
                        break;
                }
            }

            if (string.IsNullOrEmpty(prompt))
                throw new FormatException("no prompt");
            _ = new TokenSampler(sampling, seed);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            Console.Error.WriteLine($"generate: {e.Message}. Usage: generate \"prompt\" [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--checkpoint PATH] [--runtime-kernels]");
            return 2;
        }

        if (!File.Exists(checkpoint))
        {
            Console.WriteLine($"no checkpoint at {checkpoint}: training a short one first (300 steps, as `train` does)");
            checkpoint = TrainCommand.Train(ByteCorpus.FromRepository(), 300, Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, interactive: false).Checkpoint;
        }

        TransformerLanguageModel model = TransformerLanguageModel.FromCheckpoint(Safetensors.Read(checkpoint));
        if (model.Config.Vocabulary != 256)
        {
            Console.Error.WriteLine($"generate: {checkpoint} holds a model of {model.Config.Vocabulary} tokens; this demo speaks bytes (256).");
            return 2;
        }

        int[] promptTokens = Encoding.UTF8.GetBytes(prompt).Select(b => (int)b).ToArray();
        int context = model.Config.SequenceLength;
        if (promptTokens.Length >= context)
        {
            Console.Error.WriteLine($"generate: the prompt is {promptTokens.Length} bytes; the model's context is {context}.");
            return 2;
        }

        int room = context - promptTokens.Length + 1;
        if (tokens > room)
        {
            Console.WriteLine($"(the model's context is {context} bytes: generating {room} after the prompt)");
            tokens = room;
        }

        Console.WriteLine($"model: {checkpoint} ({model.Config.Layers} layers, dim {model.Config.Dim}); sampling: temperature {sampling.Temperature}, top-k {sampling.TopK}, top-p {sampling.TopP}, seed {seed}");
        Console.WriteLine();
        var decoder = new LanguageModelDecoder(model, maxSequences: 1);
        // The train demo's model has DemoGpt's shape: its cache, prefill and decode steps then run on DemoGpt's generated
        // kernels. A checkpoint of another shape decodes on the runtime-shape kernels.
        bool generated = !runtimeKernels && TryUseKernels(decoder, model.Config);
        // A first short run compiles the code paths (the demo compiles fully optimised on first use), so the rates
        // below measure decoding, not the JIT.
        foreach (int _ in decoder.Generate(promptTokens, 2, sampling, seed, stopToken: -1))
        {
        }

        Console.WriteLine(generated ? "attention: DemoGpt's generated prefill and decode-step kernels" : "attention: runtime-shape kernels (--runtime-kernels, or a checkpoint not of DemoGpt's shape)");
        Decoder utf8 = Encoding.UTF8.GetDecoder();
        var text = new char[8];
        Console.Write(prompt);
        var clock = Stopwatch.StartNew();
        TimeSpan prefill = TimeSpan.Zero;
        int produced = 0;
        foreach (int token in decoder.Generate(promptTokens, tokens, sampling, seed, stopToken: -1))
        {
            if (produced++ == 0)
                prefill = clock.Elapsed;
            // Bytes of one character may arrive in several tokens: the decoder holds them until it is complete.
            int chars = utf8.GetChars([(byte)token], 0, 1, text, 0, flush: false);
            Console.Write(text, 0, chars);
        }

        TimeSpan total = clock.Elapsed;
        Console.WriteLine();
        Console.WriteLine();
        double decodeSeconds = (total - prefill).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"generated: {produced} tokens, prefill {promptTokens.Length / prefill.TotalSeconds:F0} tokens/s, decode {(produced - 1) / Math.Max(decodeSeconds, 1e-9):F0} tokens/s"));
        return 0;
    }

    private static bool TryUseKernels(LanguageModelDecoder decoder, LanguageModelConfig config)
    {
        if (config.SequenceLength != DemoGpt.SequenceLength || config.Dim != DemoGpt.EmbeddingDim || config.Heads != DemoGpt.Heads
            || config.KeyValueHeadCount != DemoGpt.KeyValueHeads || !config.Causal)
            return false;
        decoder.UseKernels<DemoGpt>();
        return true;
    }
}
