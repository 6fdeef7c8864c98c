using System;
using System.IO;
using System.Linq;
using System.Text;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

[Collection(nameof(ProcessWideMeasurements))]
public sealed class LanguageModelTrainerTests
{
    private const string Corpus = "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs. ";

    private static readonly LanguageModelConfig s_config = new()
    {
        Vocabulary = 32, SequenceLength = 16, Dim = 32, Heads = 2, Ffn = 64, Layers = 2,
    };

    /// <summary>Bytes of the corpus mapped to 0..26 (letters, space, period).</summary>
    private static int[] Encoded() => Encoding.ASCII.GetBytes(Corpus).Select(b => b == ' ' ? 26 : b == '.' ? 27 : b - 'a').ToArray();

    private static (int[] Tokens, int[] Targets) Batch(int step, int sequences)
    {
        int[] text = Encoded();
        int t = s_config.SequenceLength;
        var tokens = new int[sequences * t];
        var targets = new int[sequences * t];
        for (int s = 0; s < sequences; s++)
        {
            int start = (step * 7 + s * 13) % text.Length;
            for (int i = 0; i < t; i++)
            {
                tokens[s * t + i] = text[(start + i) % text.Length];
                targets[s * t + i] = text[(start + i + 1) % text.Length];
            }
        }

        return (tokens, targets);
    }

    private static LanguageModelTrainer NewTrainer(int microBatch = 0, ulong seed = 1)
    {
        var model = new TransformerLanguageModel(s_config);
        model.Initialize(seed);
        return new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.01f }, new WarmupCosineSchedule(1e-2f, 1e-3f, 5, 80), 1.0, microBatch);
    }

    [Fact]
    public void A_short_run_learns_the_corpus_well_below_its_unigram_entropy()
    {
        int[] text = Encoded();
        double unigramEntropy = -text.GroupBy(c => c).Sum(g => (double)g.Count() / text.Length * Math.Log((double)g.Count() / text.Length));
        LanguageModelTrainer trainer = NewTrainer();
        double first = 0, last = 0;
        for (int step = 0; step < 80; step++)
        {
            var (tokens, targets) = Batch(step, sequences: 8);
            TrainingStep result = trainer.Step(tokens, targets);
            Assert.False(result.Skipped);
            if (step == 0)
                first = result.Loss;
            last = result.Loss;
        }

        // Random weights predict ~uniformly over 32 tokens (ln 32 = 3.47 nats); the corpus's bytes carry 2.9 nats
        // each on their own; a model that learned the text's order goes far below that.
        Assert.InRange(first, Math.Log(32) - 0.3, Math.Log(32) + 0.3);
        Assert.True(last < 0.5 * unigramEntropy, $"loss {first:F3} -> {last:F3}, unigram entropy {unigramEntropy:F3}");
    }

    [Fact]
    public void Micro_batches_give_the_same_parameters_as_whole_batches()
    {
        LanguageModelTrainer whole = NewTrainer(), micro = NewTrainer(microBatch: 3);
        for (int step = 0; step < 3; step++)
        {
            var (tokens, targets) = Batch(step, sequences: 8);
            TrainingStep a = whole.Step(tokens, targets), b = micro.Step(tokens, targets);
            Assert.Equal(a.GradientNorm, b.GradientNorm);
        }

        for (int p = 0; p < whole.Model.Parameters.Count; p++)
            Assert.True(whole.Model.Parameters[p].Value.AsSpan().SequenceEqual(micro.Model.Parameters[p].Value), whole.Model.Parameters[p].Name);
    }

    [Fact]
    public void A_checkpoint_resumes_training_to_the_same_bits()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fsa-train-{Guid.NewGuid():N}.safetensors");
        try
        {
            LanguageModelTrainer original = NewTrainer();
            for (int step = 0; step < 3; step++)
            {
                var (tokens, targets) = Batch(step, 4);
                original.Step(tokens, targets);
            }

            original.SaveCheckpoint(path);
            LanguageModelTrainer resumed = NewTrainer(seed: 99);
            resumed.LoadCheckpoint(Safetensors.Read(path));
            Assert.Equal(3, resumed.StepCount);
            for (int step = 3; step < 5; step++)
            {
                var (tokens, targets) = Batch(step, 4);
                Assert.Equal(original.Step(tokens, targets).Loss, resumed.Step(tokens, targets).Loss);
            }

            for (int p = 0; p < original.Model.Parameters.Count; p++)
                Assert.True(original.Model.Parameters[p].Value.AsSpan().SequenceEqual(resumed.Model.Parameters[p].Value));

            TransformerLanguageModel loaded = TransformerLanguageModel.FromCheckpoint(Safetensors.Read(path));
            Assert.Equal(s_config, loaded.Config);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_checkpoint_of_another_model_is_refused_and_changes_nothing()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fsa-train-{Guid.NewGuid():N}.safetensors");
        try
        {
            var other = new TransformerLanguageModel(s_config with { Dim = 16 });
            new LanguageModelTrainer(other, new AdamWOptions(), new WarmupCosineSchedule(1e-3f, 0, 0, 10), 1, 0).SaveCheckpoint(path);
            LanguageModelTrainer trainer = NewTrainer();
            float[] before = trainer.Model.Parameters[0].Value.ToArray();
            Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(Safetensors.Read(path)));
            Assert.Equal(before, trainer.Model.Parameters[0].Value);
            Assert.Equal(0, trainer.StepCount);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_step_allocates_nothing_once_warm()
    {
        LanguageModelTrainer trainer = NewTrainer();
        var (tokens, targets) = Batch(0, 4);
        // Enough steps for tiered compilation to have promoted the step's methods before anything is measured.
        for (int i = 0; i < 40; i++)
            trainer.Step(tokens, targets, 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.Step(tokens, targets, 1);
        trainer.Step(tokens, targets, 1);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_bad_batch_is_refused_before_anything_changes()
    {
        LanguageModelTrainer trainer = NewTrainer();
        var (tokens, targets) = Batch(0, 2);
        trainer.Step(tokens, targets);
        float[][] gradients = trainer.Model.Parameters.Select(p => p.Gradient.ToArray()).ToArray();
        float[][] values = trainer.Model.Parameters.Select(p => p.Value.ToArray()).ToArray();

        tokens[5] = s_config.Vocabulary;
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Step(tokens, targets));
        tokens[5] = 0;
        targets[7] = -3;
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Step(tokens, targets));
        Assert.Throws<ArgumentException>(() => trainer.Step(tokens.AsSpan(1), targets.AsSpan(1)));

        Assert.Equal(1, trainer.StepCount);
        for (int p = 0; p < values.Length; p++)
        {
            Assert.Equal(values[p], trainer.Model.Parameters[p].Value);
            Assert.Equal(gradients[p], trainer.Model.Parameters[p].Gradient);
        }
    }
}
